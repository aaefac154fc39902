import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiError } from '../common/api-error';
import { pagedQuery, type Page } from '../common/paging';
import type { MeetingsQueryDto } from './admin-query.dto';
import { MASKED, NumberView } from './phone-masking';
import { MEETING_NOT_FOUND } from './meeting-answers';

/** Rows of a meeting's history the detail view shows, newest first. */
const RECENT = 50;

const MEETING_SELECT = `
  SELECT mt.meeting_id, mt.meeting_code, mt.subject, mt.status, mt.started_at, mt.ended_at,
         mt.last_event_at, mt.created_at,
         (SELECT count(*)::int FROM pstn_participants p
           WHERE p.meeting_id = mt.meeting_id AND p.status = 'connected') AS connected_callers,
         (SELECT count(*)::int FROM ms_open_id_mappings m
           WHERE m.meeting_id = mt.meeting_id) AS mapped_ids
    FROM meetings mt`;

type Row = Record<string, unknown>;
type NumberRow = Row & { area: string | null; phone_number: string | null };

/** What operators read about meetings: the list, and one meeting with all the service knows. */
@Injectable()
export class MeetingsAdminService {
  constructor(private readonly dataSource: DataSource) {}

  /** Newest first (by when the service first heard of the meeting); subjects masked by value. */
  async list(query: MeetingsQueryDto): Promise<Page<Row>> {
    const page = await pagedQuery<Row>(
      this.dataSource,
      `${MEETING_SELECT}
        WHERE ($1::text IS NULL OR mt.status = $1)
          AND ($2::timestamptz IS NULL OR mt.created_at >= $2)
          AND ($3::timestamptz IS NULL OR mt.created_at < $3)
        ORDER BY mt.created_at DESC, mt.meeting_id`,
      [query.status ?? null, query.from ?? null, query.to ?? null],
      query,
    );
    return { ...page, items: page.items.map((row) => withSubject(row, MASKED)) };
  }

  async detail(meetingId: string, numbers: NumberView) {
    const [meeting] = await this.dataSource.query<Row[]>(
      `${MEETING_SELECT} WHERE mt.meeting_id = $1`,
      [meetingId],
    );
    if (!meeting) throw ApiError.of(404, MEETING_NOT_FOUND);
    const [callers, tracked, mappings, events, attempts] = await Promise.all([
      this.dataSource.query<NumberRow[]>(
        `SELECT p.ms_open_id, p.status, p.pstn_number, p.joined_at, p.left_at,
                p.last_operate_time, m.area, m.phone_number
           FROM pstn_participants p
           LEFT JOIN ms_open_id_mappings m
             ON m.meeting_id = p.meeting_id AND m.ms_open_id = p.ms_open_id
          WHERE p.meeting_id = $1 ORDER BY p.joined_at NULLS LAST, p.id`,
        [meetingId],
      ),
      this.dataSource.query<NumberRow[]>(
        `SELECT area, phone_number, source, created_at, first_resolved_at, last_resolved_at
           FROM tracked_numbers WHERE meeting_id = $1 ORDER BY id`,
        [meetingId],
      ),
      this.dataSource.query<NumberRow[]>(
        `SELECT ms_open_id, area, phone_number, resolved_at
           FROM ms_open_id_mappings WHERE meeting_id = $1 ORDER BY id`,
        [meetingId],
      ),
      this.dataSource.query<Row[]>(
        `SELECT id, source, webhook_event_id, kind, ms_open_id, phone_status, operate_time,
                created_at
           FROM pstn_events WHERE meeting_id = $1 ORDER BY id DESC LIMIT ${RECENT}`,
        [meetingId],
      ),
      this.dataSource.query<Row[]>(
        `SELECT id, numbers_asked, ids_returned, outcome, http_status, error_code,
                new_error_code, latency_ms, created_at
           FROM resolution_attempts WHERE meeting_id = $1 ORDER BY id DESC LIMIT ${RECENT}`,
        [meetingId],
      ),
    ]);
    return {
      ...withSubject(meeting, numbers),
      phone_callers: callers.map((row) => ({
        ...withNumber(row, numbers),
        pstn_number: numbers.value(row.pstn_number as string | null),
      })),
      tracked_numbers: tracked.map((row) => withNumber(row, numbers)),
      mappings: mappings.map((row) => withNumber(row, numbers)),
      recent_events: events,
      resolution_attempts: attempts,
    };
  }

  /** 404 for a meeting no webhook has mentioned. */
  async assertExists(meetingId: string): Promise<void> {
    const rows = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM meetings WHERE meeting_id = $1`,
      [meetingId],
    );
    if (rows.length === 0) {
      throw ApiError.of(404, MEETING_NOT_FOUND);
    }
  }
}

/** A meeting's subject is free text its host typed: it may hold a phone number. */
function withSubject(row: Row, numbers: NumberView): Row {
  return { ...row, subject: numbers.value(row.subject as string | null) };
}

/** The row with its (area, phone_number) replaced by one `number`, masked or revealed. */
function withNumber({ area, phone_number, ...row }: NumberRow, numbers: NumberView): Row {
  return { ...row, number: numbers.number(area, phone_number) };
}
