import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PhoneNumber } from '../tencent/phone-number';
import type { TrackedNumberSource } from '../tracking/tracked-number.entity';
import { isOpenMeeting } from '../tracking/meeting.entity';
import type { ParticipantStatus } from '../tracking/pstn-participant.entity';
import type { CallerEntry, NumberIds } from './mapping.cache';

/** A meeting as the lookups need it; a meeting never seen is open and has no caller yet. */
export interface MeetingState {
  endedAt: Date | null;
  open: boolean;
  hasConnectedCaller: boolean;
}

export interface ParticipantView extends CallerEntry {
  msOpenId: string;
}

interface CallerRow {
  ms_open_id: string;
  status: ParticipantStatus;
  joined_at: Date | null;
  left_at: Date | null;
  area: string | null;
  phone_number: string | null;
}

/** Mapped ids with their caller's state; an id Tencent returned from history counts as left. */
const MAPPED_CALLER_SELECT = `
  SELECT m.ms_open_id, COALESCE(p.status, 'left') AS status, p.joined_at, p.left_at,
         m.area, m.phone_number
    FROM ms_open_id_mappings m
    LEFT JOIN pstn_participants p
      ON p.meeting_id = m.meeting_id AND p.ms_open_id = m.ms_open_id`;

/** Phone callers with their number when it is mapped. */
const CALLER_SELECT = `
  SELECT p.ms_open_id, p.status, p.joined_at, p.left_at, m.area, m.phone_number
    FROM pstn_participants p
    LEFT JOIN ms_open_id_mappings m
      ON m.meeting_id = p.meeting_id AND m.ms_open_id = p.ms_open_id`;

/**
 * Registers numbers unless the meeting would then track more than `$4`; answers whether they
 * fit and how many were new. One statement, so two registrations cannot both squeeze in.
 */
const TRACK = `
  WITH asked AS (
    SELECT DISTINCT u.area, u.phone_number FROM unnest($2::text[], $3::text[]) AS u(area, phone_number)),
  fresh AS (
    SELECT a.area, a.phone_number FROM asked a
     WHERE NOT EXISTS (SELECT 1 FROM tracked_numbers t
                        WHERE t.meeting_id = $1 AND t.area = a.area
                          AND t.phone_number = a.phone_number)),
  fits AS (
    SELECT (SELECT count(*) FROM tracked_numbers WHERE meeting_id = $1)
           + (SELECT count(*) FROM fresh) <= $4 AS ok),
  added AS (
    INSERT INTO tracked_numbers (meeting_id, area, phone_number, source)
    SELECT $1, f.area, f.phone_number, $5 FROM fresh f WHERE (SELECT ok FROM fits)
    ON CONFLICT DO NOTHING
    RETURNING 1)
  SELECT (SELECT ok FROM fits) AS ok, (SELECT count(*) FROM added)::int AS added`;

/** The SQL behind the lookup API. */
@Injectable()
export class LookupStore {
  constructor(private readonly dataSource: DataSource) {}

  async meeting(meetingId: string): Promise<MeetingState> {
    const [row] = await this.dataSource.query<
      { status: string; ended_at: Date | null; connected: boolean }[]
    >(
      `SELECT status, ended_at,
              EXISTS (SELECT 1 FROM pstn_participants p
                       WHERE p.meeting_id = $1 AND p.status = 'connected') AS connected
         FROM meetings WHERE meeting_id = $1`,
      [meetingId],
    );
    return {
      endedAt: row?.ended_at ?? null,
      open: isOpenMeeting(row?.status),
      hasConnectedCaller: row?.connected ?? false,
    };
  }

  /** Tracks the numbers (idempotent); false when the meeting's limit would be passed. */
  async track(
    meetingId: string,
    numbers: PhoneNumber[],
    limit: number,
    source: TrackedNumberSource = 'api',
  ): Promise<boolean> {
    const [row] = await this.dataSource.query<{ ok: boolean }[]>(TRACK, [
      meetingId,
      numbers.map((n) => n.area),
      numbers.map((n) => n.phoneNumber),
      limit,
      source,
    ]);
    return row.ok;
  }

  async ids(meetingId: string, number: PhoneNumber): Promise<NumberIds> {
    const rows = await this.dataSource.query<{ ms_open_id: string; status: ParticipantStatus }[]>(
      `SELECT m.ms_open_id, COALESCE(p.status, 'left') AS status
         FROM ms_open_id_mappings m
         LEFT JOIN pstn_participants p
           ON p.meeting_id = m.meeting_id AND p.ms_open_id = m.ms_open_id
        WHERE m.meeting_id = $1 AND m.area = $2 AND m.phone_number = $3
        ORDER BY m.id`,
      [meetingId, number.area, number.phoneNumber],
    );
    return { ids: rows.map((row) => ({ msOpenId: row.ms_open_id, status: row.status })) };
  }

  /** The callers behind these mapped ids, for the reverse-lookup cache. */
  async mappedCallers(meetingId: string, msOpenIds: string[]): Promise<Map<string, CallerEntry>> {
    if (msOpenIds.length === 0) return new Map();
    const rows = await this.dataSource.query<CallerRow[]>(
      `${MAPPED_CALLER_SELECT} WHERE m.meeting_id = $1 AND m.ms_open_id = ANY($2)`,
      [meetingId, msOpenIds],
    );
    return new Map(rows.map((row) => [row.ms_open_id, toCaller(row)]));
  }

  async participants(
    meetingId: string,
    status: ParticipantStatus | 'all',
  ): Promise<ParticipantView[]> {
    const rows = await this.dataSource.query<CallerRow[]>(
      `${CALLER_SELECT}
        WHERE p.meeting_id = $1 AND ($2 = 'all' OR p.status = $2)
        ORDER BY p.joined_at NULLS LAST, p.id`,
      [meetingId, status],
    );
    return rows.map(toCaller);
  }

  /** The caller with this id, mapped or only seen joining; undefined when unknown. */
  async caller(meetingId: string, msOpenId: string): Promise<ParticipantView | undefined> {
    const [row] = await this.dataSource.query<CallerRow[]>(
      `${MAPPED_CALLER_SELECT}
        WHERE m.meeting_id = $1 AND m.ms_open_id = $2
       UNION ALL
       ${CALLER_SELECT}
        WHERE p.meeting_id = $1 AND p.ms_open_id = $2
        LIMIT 1`,
      [meetingId, msOpenId],
    );
    return row ? toCaller(row) : undefined;
  }

  /** Every number a meeting tracks or has mapped. */
  async knownNumbers(meetingId: string): Promise<PhoneNumber[]> {
    const rows = await this.dataSource.query<{ area: string; phone_number: string }[]>(
      `SELECT area, phone_number FROM tracked_numbers WHERE meeting_id = $1
        UNION
       SELECT area, phone_number FROM ms_open_id_mappings WHERE meeting_id = $1`,
      [meetingId],
    );
    return rows.map((row) => ({ area: row.area, phoneNumber: row.phone_number }));
  }
}

function toCaller(row: CallerRow): ParticipantView {
  return {
    msOpenId: row.ms_open_id,
    area: row.area,
    phoneNumber: row.phone_number,
    status: row.status,
    joinedAt: row.joined_at?.toISOString() ?? null,
    leftAt: row.left_at?.toISOString() ?? null,
  };
}
