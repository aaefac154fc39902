import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PagingDto } from './paging.dto';

/** A page of rows whose time lies in [from, to). */
export class TimeRangeDto extends PagingDto {
  @ApiPropertyOptional({ description: 'ISO 8601; inclusive', example: '2026-11-24T00:00:00Z' })
  @IsOptional()
  @IsISO8601()
  from?: string;

  @ApiPropertyOptional({ description: 'ISO 8601; exclusive', example: '2026-11-25T00:00:00Z' })
  @IsOptional()
  @IsISO8601()
  to?: string;
}

export const MEETING_STATUSES = ['unknown', 'started', 'ended', 'canceled'] as const;

export class MeetingsQueryDto extends TimeRangeDto {
  @ApiPropertyOptional({ enum: MEETING_STATUSES })
  @IsOptional()
  @IsIn(MEETING_STATUSES)
  status?: (typeof MEETING_STATUSES)[number];
}

export const EVENT_STATUSES = ['received', 'processed', 'failed'] as const;

export class WebhookEventsQueryDto extends TimeRangeDto {
  @ApiPropertyOptional({ example: 'meeting.participant-joined' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  event?: string;

  @ApiPropertyOptional({ example: '13339451618278424869' })
  @IsOptional()
  @Matches(/^\d{1,32}$/, { message: 'meeting_id must be a string of up to 32 digits' })
  meeting_id?: string;

  @ApiPropertyOptional({ enum: EVENT_STATUSES, description: 'Processing state' })
  @IsOptional()
  @IsIn(EVENT_STATUSES)
  status?: (typeof EVENT_STATUSES)[number];
}

export const JOB_STATES = ['failed', 'dead'] as const;

export class JobsQueryDto extends PagingDto {
  @ApiPropertyOptional({
    enum: JOB_STATES,
    default: 'failed',
    description:
      '`failed`: waiting for a retry or out of retries; `dead`: in the dead-letter queue',
  })
  @IsOptional()
  @IsIn(JOB_STATES)
  state: (typeof JOB_STATES)[number] = 'failed';
}
