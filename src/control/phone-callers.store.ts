import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PhoneNumber } from '../tencent/phone-number';
import { isOpenMeeting } from '../tracking/meeting.entity';

/** What decides whether an action waits on: a meeting that ended has no caller to wait for. */
export interface MeetingCallers {
  open: boolean;
  /** A connected phone caller has no number yet: resolving the meeting may find one asked for. */
  unmappedCaller: boolean;
}

/** The SQL that finds an action's targets: connected phone callers, from Postgres alone. */
@Injectable()
export class PhoneCallersStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Each number's connected ms_open_ids, in the order asked, each in the order it was mapped. */
  async connectedIdsOf(meetingId: string, numbers: PhoneNumber[]): Promise<string[][]> {
    const rows = await this.dataSource.query<{ i: string; ms_open_id: string }[]>(
      `SELECT n.i, m.ms_open_id
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS n(area, phone_number, i)
         JOIN ms_open_id_mappings m
           ON m.meeting_id = $1 AND m.area = n.area AND m.phone_number = n.phone_number
         JOIN pstn_participants p
           ON p.meeting_id = m.meeting_id AND p.ms_open_id = m.ms_open_id
        WHERE p.status = 'connected'
        ORDER BY n.i, m.id`,
      [meetingId, numbers.map((n) => n.area), numbers.map((n) => n.phoneNumber)],
    );
    const ids = numbers.map((): string[] => []);
    for (const row of rows) ids[Number(row.i) - 1].push(row.ms_open_id);
    return ids;
  }

  /** Which of these ids are phone callers connected to the meeting now. */
  async connected(meetingId: string, msOpenIds: string[]): Promise<Set<string>> {
    const rows = await this.dataSource.query<{ ms_open_id: string }[]>(
      `SELECT ms_open_id FROM pstn_participants
        WHERE meeting_id = $1 AND ms_open_id = ANY($2) AND status = 'connected'`,
      [meetingId, msOpenIds],
    );
    return new Set(rows.map((row) => row.ms_open_id));
  }

  /** A meeting never seen is open: its callers may connect any moment. */
  async meeting(meetingId: string): Promise<MeetingCallers> {
    const [row] = await this.dataSource.query<{ status: string | null; unmapped: boolean }[]>(
      `SELECT (SELECT status FROM meetings WHERE meeting_id = $1) AS status,
              EXISTS (SELECT 1 FROM pstn_participants p
                       WHERE p.meeting_id = $1 AND p.status = 'connected'
                         AND NOT EXISTS (SELECT 1 FROM ms_open_id_mappings m
                                          WHERE m.meeting_id = p.meeting_id
                                            AND m.ms_open_id = p.ms_open_id)) AS unmapped`,
      [meetingId],
    );
    return { open: isOpenMeeting(row.status ?? undefined), unmappedCaller: row.unmapped };
  }
}
