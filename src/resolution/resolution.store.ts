import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { MsOpenIdEntry } from '../tencent/ms-open-id.client';
import { numberKey, type PhoneNumber } from '../tencent/phone-number';
import type { UpstreamAttempt } from '../tencent/tencent-api.client';
import { isOpenMeeting } from '../tracking/meeting.entity';

/** What a meeting needs resolved right now. */
export interface ResolutionNeeds {
  meetingOpen: boolean;
  /** Connected phone callers with no mapping, and when each connected. */
  unmappedConnected: { msOpenId: string; connectedAt: Date }[];
  trackedNumbers: (PhoneNumber & { mapped: boolean; lastAskedAt: Date | null })[];
}

/** One upstream attempt as resolution_attempts keeps it: how many numbers, never which. */
export interface ResolutionAttemptRow extends UpstreamAttempt {
  numbersAsked: number;
  idsReturned: number;
}

/** The SQL behind resolution: what a meeting needs, and storing what Tencent answered. */
@Injectable()
export class ResolutionStore {
  constructor(private readonly dataSource: DataSource) {}

  async needs(meetingId: string): Promise<ResolutionNeeds> {
    const [meeting] = await this.dataSource.query<{ status: string }[]>(
      `SELECT status FROM meetings WHERE meeting_id = $1`,
      [meetingId],
    );
    const unmapped = await this.dataSource.query<{ ms_open_id: string; connected_at: Date }[]>(
      `SELECT p.ms_open_id, COALESCE(p.joined_at, p.last_operate_time) AS connected_at
         FROM pstn_participants p
        WHERE p.meeting_id = $1 AND p.status = 'connected'
          AND NOT EXISTS (SELECT 1 FROM ms_open_id_mappings m
                           WHERE m.meeting_id = p.meeting_id AND m.ms_open_id = p.ms_open_id)`,
      [meetingId],
    );
    const tracked = await this.dataSource.query<
      { area: string; phone_number: string; mapped: boolean; last_asked_at: Date | null }[]
    >(
      `SELECT t.area, t.phone_number, t.last_asked_at,
              EXISTS (SELECT 1 FROM ms_open_id_mappings m
                       WHERE m.meeting_id = t.meeting_id AND m.area = t.area
                         AND m.phone_number = t.phone_number) AS mapped
         FROM tracked_numbers t WHERE t.meeting_id = $1 ORDER BY t.id`,
      [meetingId],
    );
    return {
      meetingOpen: meeting !== undefined && isOpenMeeting(meeting.status),
      unmappedConnected: unmapped.map((row) => ({
        msOpenId: row.ms_open_id,
        connectedAt: row.connected_at,
      })),
      trackedNumbers: tracked.map((row) => ({
        area: row.area,
        phoneNumber: row.phone_number,
        mapped: row.mapped,
        lastAskedAt: row.last_asked_at,
      })),
    };
  }

  /**
   * Stores Tencent's answer for the numbers asked. Answers are matched back to the asked numbers
   * (leading zeros may have been lost on the way), so a mapping always carries the number as the
   * service tracks it. Returns the mappings that are new.
   */
  async saveMappings(
    meetingId: string,
    asked: PhoneNumber[],
    entries: MsOpenIdEntry[],
  ): Promise<MsOpenIdEntry[]> {
    const byKey = new Map(asked.map((number) => [numberKey(number), number]));
    const matched = entries.flatMap((entry) => {
      const number = byKey.get(numberKey(entry));
      return number ? [{ ...number, msOpenId: entry.msOpenId }] : [];
    });
    if (matched.length === 0) return [];
    return this.dataSource.transaction(async (manager) => {
      const inserted = await manager.query<
        { ms_open_id: string; area: string; phone_number: string }[]
      >(
        `INSERT INTO ms_open_id_mappings (meeting_id, ms_open_id, area, phone_number)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])
         ON CONFLICT (meeting_id, ms_open_id) DO NOTHING
         RETURNING ms_open_id, area, phone_number`,
        [
          meetingId,
          matched.map((m) => m.msOpenId),
          matched.map((m) => m.area),
          matched.map((m) => m.phoneNumber),
        ],
      );
      await manager.query(
        `UPDATE tracked_numbers t
            SET first_resolved_at = COALESCE(t.first_resolved_at, now()), last_resolved_at = now()
           FROM unnest($2::text[], $3::text[]) AS n(area, phone_number)
          WHERE t.meeting_id = $1 AND t.area = n.area AND t.phone_number = n.phone_number`,
        [meetingId, matched.map((m) => m.area), matched.map((m) => m.phoneNumber)],
      );
      return inserted.map((row) => ({
        msOpenId: row.ms_open_id,
        area: row.area,
        phoneNumber: row.phone_number,
      }));
    });
  }

  /** When these numbers were last asked of Tencent: a number asked lately need not be again. */
  async markAsked(meetingId: string, numbers: PhoneNumber[]): Promise<void> {
    await this.dataSource.query(
      `UPDATE tracked_numbers t SET last_asked_at = now()
         FROM unnest($2::text[], $3::text[]) AS n(area, phone_number)
        WHERE t.meeting_id = $1 AND t.area = n.area AND t.phone_number = n.phone_number`,
      [meetingId, numbers.map((n) => n.area), numbers.map((n) => n.phoneNumber)],
    );
  }

  async recordAttempts(meetingId: string, attempts: ResolutionAttemptRow[]): Promise<void> {
    if (attempts.length === 0) return;
    await this.dataSource.query(
      `INSERT INTO resolution_attempts
         (meeting_id, numbers_asked, ids_returned, outcome, http_status, error_code,
          new_error_code, latency_ms)
       SELECT $1, * FROM unnest($2::int[], $3::int[], $4::text[], $5::int[], $6::int[],
                                $7::int[], $8::int[])`,
      [
        meetingId,
        attempts.map((a) => a.numbersAsked),
        attempts.map((a) => a.idsReturned),
        attempts.map((a) => a.outcome),
        attempts.map((a) => a.httpStatus),
        attempts.map((a) => a.errorCode),
        attempts.map((a) => a.newErrorCode),
        attempts.map((a) => a.latencyMs),
      ],
    );
  }
}
