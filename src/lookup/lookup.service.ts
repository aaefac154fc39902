import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiError } from '../common/api-error';
import { MeetingResolver } from '../resolution/meeting-resolver';
import type { PhoneNumber } from '../tencent/ms-open-id.client';
import { numberKey } from '../tracking/phone-number';
import type { ParticipantStatus } from '../tracking/pstn-participant.entity';
import { MappingCache, type CallerEntry, type NumberIds } from './mapping.cache';

/** How long a lookup waits for Tencent before answering with what is known. */
const RESOLVE_WAIT_MS = 5_000;

interface MeetingState {
  endedAt: Date | null;
  open: boolean;
  hasConnectedCaller: boolean;
}

export interface ParticipantView extends CallerEntry {
  msOpenId: string;
}

/**
 * Answers meeting-control services: number -> ids from the cache, else from Postgres (one read
 * per number however many ask at once), asking Tencent once when a connected meeting has never
 * resolved the number.
 */
@Injectable()
export class LookupService {
  private readonly inFlight = new Map<string, Promise<NumberIds>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly cache: MappingCache,
    private readonly resolver: MeetingResolver,
  ) {}

  /** Each number's ids, in the order asked. Every number asked about becomes tracked. */
  async lookup(meetingId: string, numbers: PhoneNumber[]): Promise<NumberIds[]> {
    const cached = await this.cache.getNumbers(meetingId, numbers);
    return Promise.all(
      numbers.map(async (number, index) => cached[index] ?? this.loadOnce(meetingId, number)),
    );
  }

  /** Registers numbers to resolve as soon as they connect; answers their current ids. */
  async track(meetingId: string, numbers: PhoneNumber[]): Promise<NumberIds[]> {
    const meeting = await this.meeting(meetingId);
    await this.insertTracked(meetingId, numbers);
    // A connected caller may be one of them already; otherwise they resolve when they connect.
    if (meeting.open && meeting.hasConnectedCaller) void this.resolver.request(meetingId, false);
    return Promise.all(numbers.map((number) => this.idsFromDb(meetingId, number)));
  }

  async participants(
    meetingId: string,
    status: ParticipantStatus | 'all',
  ): Promise<ParticipantView[]> {
    await this.meeting(meetingId);
    const rows = await this.dataSource.query<CallerRow[]>(
      `${CALLER_SELECT}
        WHERE p.meeting_id = $1 AND ($2 = 'all' OR p.status = $2)
        ORDER BY p.joined_at NULLS LAST, p.id`,
      [meetingId, status],
    );
    return rows.map(toCaller);
  }

  /** Which number this caller is; 404 when the meeting or the caller is unknown. */
  async caller(meetingId: string, msOpenId: string): Promise<ParticipantView> {
    const cached = await this.cache.getCaller(meetingId, msOpenId);
    if (cached) return { msOpenId, ...cached };
    await this.meeting(meetingId);
    const [row] = await this.dataSource.query<CallerRow[]>(
      `${MAPPED_CALLER_SELECT}
        WHERE m.meeting_id = $1 AND m.ms_open_id = $2
       UNION ALL
       ${CALLER_SELECT}
        WHERE p.meeting_id = $1 AND p.ms_open_id = $2
        LIMIT 1`,
      [meetingId, msOpenId],
    );
    if (!row)
      throw new ApiError(404, 'participant_not_found', 'no phone caller with this ms_open_id');
    return toCaller(row);
  }

  private loadOnce(meetingId: string, number: PhoneNumber): Promise<NumberIds> {
    const key = `${meetingId}|${numberKey(number)}`;
    let load = this.inFlight.get(key);
    if (!load) {
      load = this.load(meetingId, number).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, load);
    }
    return load;
  }

  /**
   * Drops a meeting's cache entries and fills them again from Postgres, for every number it
   * tracks or has mapped; answers how many numbers were cached.
   */
  async rebuildCache(meetingId: string): Promise<number> {
    const meeting = await this.meeting(meetingId);
    if (!(await this.cache.invalidate(meetingId))) {
      throw new ApiError(503, 'cache_unavailable', 'Redis is not answering');
    }
    const generation = await this.cache.generation(meetingId);
    const numbers = await this.dataSource.query<{ area: string; phone_number: string }[]>(
      `SELECT area, phone_number FROM tracked_numbers WHERE meeting_id = $1
        UNION
       SELECT area, phone_number FROM ms_open_id_mappings WHERE meeting_id = $1`,
      [meetingId],
    );
    for (const row of numbers) {
      const number = { area: row.area, phoneNumber: row.phone_number };
      await this.fill(
        meetingId,
        generation,
        meeting,
        number,
        await this.idsFromDb(meetingId, number),
      );
    }
    return numbers.length;
  }

  private async load(meetingId: string, number: PhoneNumber): Promise<NumberIds> {
    const generation = await this.cache.generation(meetingId);
    const meeting = await this.meeting(meetingId);
    await this.insertTracked(meetingId, [number]);
    let ids = await this.idsFromDb(meetingId, number);
    if (ids.ids.length === 0 && meeting.open && meeting.hasConnectedCaller) {
      await Promise.race([
        this.resolver.request(meetingId, true, { urgent: true }),
        new Promise((resolve) => setTimeout(resolve, RESOLVE_WAIT_MS).unref()),
      ]);
      ids = await this.idsFromDb(meetingId, number);
    }
    await this.fill(meetingId, generation, meeting, number, ids);
    return ids;
  }

  /** Caches what Postgres said about the number, with its callers, unless it changed since. */
  private async fill(
    meetingId: string,
    generation: string | null,
    meeting: MeetingState,
    number: PhoneNumber,
    ids: NumberIds,
  ): Promise<void> {
    await this.cache.fill(
      meetingId,
      generation,
      meeting.endedAt,
      number,
      ids,
      await this.callers(meetingId, number, ids),
    );
  }

  private async callers(
    meetingId: string,
    number: PhoneNumber,
    ids: NumberIds,
  ): Promise<Map<string, CallerEntry>> {
    if (ids.ids.length === 0) return new Map();
    const rows = await this.dataSource.query<CallerRow[]>(
      `${MAPPED_CALLER_SELECT} WHERE m.meeting_id = $1 AND m.ms_open_id = ANY($2)`,
      [meetingId, ids.ids.map((id) => id.msOpenId)],
    );
    return new Map(rows.map((row) => [row.ms_open_id, toCaller(row)]));
  }

  private async idsFromDb(meetingId: string, number: PhoneNumber): Promise<NumberIds> {
    const rows = await this.dataSource.query<{ ms_open_id: string; status: ParticipantStatus }[]>(
      `SELECT m.ms_open_id, COALESCE(p.status, 'left') AS status
         FROM ms_open_id_mappings m
         LEFT JOIN pstn_participants p
           ON p.meeting_id = m.meeting_id AND p.ms_open_id = m.ms_open_id
        WHERE m.meeting_id = $1
          AND ltrim(m.area, '0') = $2 AND ltrim(m.phone_number, '0') = $3
        ORDER BY m.id`,
      [meetingId, number.area, number.phoneNumber],
    );
    return { ids: rows.map((row) => ({ msOpenId: row.ms_open_id, status: row.status })) };
  }

  private async insertTracked(meetingId: string, numbers: PhoneNumber[]): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source)
       SELECT $1, * , 'api' FROM unnest($2::text[], $3::text[])
       ON CONFLICT DO NOTHING`,
      [meetingId, numbers.map((n) => n.area), numbers.map((n) => n.phoneNumber)],
    );
  }

  /** The meeting as the lookups need it; 404 for a meeting no webhook has mentioned. */
  private async meeting(meetingId: string): Promise<MeetingState> {
    const [row] = await this.dataSource.query<
      { status: string; ended_at: Date | null; connected: boolean }[]
    >(
      `SELECT status, ended_at,
              EXISTS (SELECT 1 FROM pstn_participants p
                       WHERE p.meeting_id = $1 AND p.status = 'connected') AS connected
         FROM meetings WHERE meeting_id = $1`,
      [meetingId],
    );
    if (!row) throw new ApiError(404, 'meeting_not_found', 'no such meeting has been seen');
    return {
      endedAt: row.ended_at,
      open: row.status !== 'ended' && row.status !== 'canceled',
      hasConnectedCaller: row.connected,
    };
  }
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
