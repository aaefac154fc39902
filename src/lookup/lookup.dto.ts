import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  ValidateNested,
} from 'class-validator';
import { PhoneNumberDto } from './phone-number.dto';

const MAX_NUMBERS = 100;

/** A list of phone numbers, as in Tencent's request. */
export class TrackedNumbersDto {
  @ApiProperty({ type: [PhoneNumberDto], maxItems: MAX_NUMBERS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_NUMBERS)
  @ValidateNested({ each: true })
  @Type(() => PhoneNumberDto)
  phone_numbers: PhoneNumberDto[];
}

/** Tencent's request shape; the operator fields are accepted and ignored (ours is configured). */
export class MsOpenIdLookupDto extends TrackedNumbersDto {
  @ApiPropertyOptional({ example: 'songe' })
  @IsOptional()
  @IsString()
  operator_id?: string;

  @ApiPropertyOptional({ example: 1 })
  @IsOptional()
  @IsInt()
  operator_id_type?: number;
}

export class ParticipantsQueryDto {
  @ApiPropertyOptional({ enum: ['connected', 'left', 'all'], default: 'all' })
  @IsOptional()
  @IsIn(['connected', 'left', 'all'])
  status: 'connected' | 'left' | 'all' = 'all';
}
