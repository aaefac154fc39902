import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches, ValidateBy, type ValidationArguments } from 'class-validator';
import { PagingDto } from '../common/paging';
import { MEETING_STATUSES } from '../tracking/meeting.entity';

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An ISO 8601 date or time that exists (no February 30th) and that Postgres can hold as a
 * timestamptz in the range this service could have data for (years 1970 to 9999).
 */
export function isTimestamp(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = ISO_8601.exec(value);
  if (!match) return false;
  const [year, month, day] = match.slice(1, 4).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1970 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    !Number.isNaN(Date.parse(value.replace(' ', 'T')))
  );
}

function IsTimestamp(): PropertyDecorator {
  return ValidateBy({
    name: 'isTimestamp',
    validator: {
      validate: isTimestamp,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be an ISO 8601 date or time between 1970 and 9999 that exists`,
    },
  });
}

/** A page of rows whose time lies in [from, to). */
export class TimeRangeDto extends PagingDto {
  @ApiPropertyOptional({ description: 'ISO 8601; inclusive', example: '2026-11-24T00:00:00Z' })
  @IsOptional()
  @IsTimestamp()
  from?: string;

  @ApiPropertyOptional({ description: 'ISO 8601; exclusive', example: '2026-11-25T00:00:00Z' })
  @IsOptional()
  @IsTimestamp()
  to?: string;
}

export class MeetingsQueryDto extends TimeRangeDto {
  @ApiPropertyOptional({ enum: MEETING_STATUSES })
  @IsOptional()
  @IsIn(MEETING_STATUSES)
  status?: (typeof MEETING_STATUSES)[number];
}

export const EVENT_STATUSES = ['received', 'processed', 'failed', 'dead', 'quarantined'] as const;

export class WebhookEventsQueryDto extends TimeRangeDto {
  @ApiPropertyOptional({ example: 'meeting.participant-joined' })
  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,100}$/, { message: 'event must be 1 to 100 printable characters' })
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
      '`failed`: an attempt failed and the next waits for its time; `dead`: out of attempts',
  })
  @IsOptional()
  @IsIn(JOB_STATES)
  state: (typeof JOB_STATES)[number] = 'failed';
}
