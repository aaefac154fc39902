import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { PagingDto } from '../common/paging';
import { ACTION_OUTCOMES, type ActionOutcome } from './action-execution';
import { CONTROL_ACTIONS, type ControlAction } from './phone-caller-action.schema';

export class ControlActionsQueryDto extends PagingDto {
  @ApiPropertyOptional({ example: '13339451618278424869' })
  @IsOptional()
  @Matches(/^\d{1,32}$/, { message: 'meeting_id must be a string of up to 32 digits' })
  meeting_id?: string;

  @ApiPropertyOptional({ enum: CONTROL_ACTIONS })
  @IsOptional()
  @IsIn(CONTROL_ACTIONS)
  action?: ControlAction;

  @ApiPropertyOptional({
    enum: ACTION_OUTCOMES,
    description: 'Actions with at least one result of this outcome',
  })
  @IsOptional()
  @IsIn(ACTION_OUTCOMES)
  outcome?: ActionOutcome;
}
