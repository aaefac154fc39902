import { Injectable } from '@nestjs/common';
import { TencentApi } from './tencent-api.client';

/** Tencent's largest page for this endpoint (it is 100 for the callout list). */
const PAGE_SIZE = 50;

/** Tencent's device type of a phone (PSTN) caller. */
const PSTN_INSTANCE_ID = 0;

export interface RosterCaller {
  msOpenId: string;
  /** When Tencent says the call joined; null when its answer had no readable time. */
  joinedAt: Date | null;
}

/** Who is in a meeting now, as Tencent's live roster lists it. */
export interface MeetingRoster {
  /** Tencent's meeting state: `MEETING_STATE_STARTED`, `MEETING_STATE_ENDED`, ...; null if absent. */
  status: string | null;
  /** The phone callers listed, each once. */
  phoneCallers: RosterCaller[];
}

/**
 * Tencent's `GET /v1/meetings/{id}/real-time-participants`: every page of who is in the meeting
 * now. Not retried: reconciliation reads the roster again later, and spends only the budget
 * others leave (purpose `reconcile`).
 */
@Injectable()
export class RealTimeParticipantsClient {
  constructor(private readonly api: TencentApi) {}

  async read(meetingId: string): Promise<MeetingRoster> {
    const callers = new Map<string, RosterCaller>();
    let status: string | null = null;
    for (let page = 1; ; page += 1) {
      const answer = await this.api.call({
        endpoint: 'real-time-participants',
        method: 'GET',
        path: `/v1/meetings/${encodeURIComponent(meetingId)}/real-time-participants`,
        query: {
          operator_id: this.api.operator.operator_id,
          operator_id_type: String(this.api.operator.operator_id_type),
          page: String(page),
          page_size: String(PAGE_SIZE),
        },
        purpose: 'reconcile',
        retry: false,
      });
      const read = parseRosterPage(answer);
      // The last page read says best how the meeting stands (it may end while pages are read).
      status = read.status ?? status;
      // Pages are read one after another: a caller may move to an earlier page meanwhile and be
      // listed twice, or be missed; the reader checks a caller's absence again later.
      for (const caller of read.phoneCallers) callers.set(caller.msOpenId, caller);
      if (page >= read.totalPages || read.listed === 0)
        return { status, phoneCallers: [...callers.values()] };
    }
  }
}

/**
 * Reads one page as Tencent's SDKs type it (`instanceid` a number, `join_time` a string of unix
 * seconds), accepting either type for both, as webhooks send `instance_id` as a string.
 */
function parseRosterPage(answer: unknown): {
  status: string | null;
  phoneCallers: RosterCaller[];
  listed: number;
  totalPages: number;
} {
  const body = (answer ?? {}) as { status?: unknown; total_page?: unknown; participants?: unknown };
  const list = Array.isArray(body.participants) ? (body.participants as unknown[]) : [];
  const phoneCallers = list.flatMap((raw) => {
    const item = (raw ?? {}) as Record<string, unknown>;
    const phone =
      item.instanceid === PSTN_INSTANCE_ID || item.instanceid === String(PSTN_INSTANCE_ID);
    const msOpenId = typeof item.ms_open_id === 'string' ? item.ms_open_id : '';
    return phone && msOpenId ? [{ msOpenId, joinedAt: joinTime(item.join_time) }] : [];
  });
  return {
    status: typeof body.status === 'string' && body.status ? body.status : null,
    phoneCallers,
    listed: list.length,
    totalPages: Number(body.total_page) || 1,
  };
}

/** Unix seconds, as a string or a number; null for anything else. */
function joinTime(value: unknown): Date | null {
  const text = typeof value === 'number' ? String(value) : value;
  return typeof text === 'string' && /^[1-9]\d*$/.test(text) ? new Date(Number(text) * 1000) : null;
}
