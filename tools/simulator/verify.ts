import type { LookupItem } from '../../clients/typescript/src';
import { maskNumber } from '../../src/admin/phone-masking';
import type { Line, MeetingPlan } from './scenario';
import { sleep, type ParticipantItem, type ServiceClient } from './service-client';
import type { Truth } from './truth';

/**
 * Compares what the lookup API answers with the truth: for every number, the ids (with their
 * status) from `POST .../phone/ms-open-id` and from `GET .../pstn-participants`; and no phone
 * caller the story does not have.
 */

export interface Row {
  meeting: number;
  caller: string;
  /** Masked: the simulator's numbers are made up, but numbers are never printed whole. */
  number: string;
  truth: string;
  lookup: string;
  participants: string;
  ok: boolean;
}

interface Answers {
  lookups: Map<string, LookupItem[]>;
  participants: Map<string, ParticipantItem[]>;
}

const NONE = '-';

export function compare(truth: Truth, answers: Answers): Row[] {
  const rows = truth.map(({ meeting, line, ids }): Row => {
    const expected = describe(ids);
    const lookup = answers.lookups.has(meeting.meetingId)
      ? describe(
          (answers.lookups.get(meeting.meetingId) ?? [])
            .filter((item) => sameNumber(line, item.area, item.phone_number))
            .map((item) => ({ msOpenId: item.ms_open_id, status: item.status })),
        )
      : 'not asked';
    const participants = describe(
      (answers.participants.get(meeting.meetingId) ?? [])
        .filter((item) => sameNumber(line, item.area, item.phone_number))
        .map((item) => ({ msOpenId: item.ms_open_id, status: item.status })),
    );
    return {
      meeting: meeting.index,
      caller: line.label,
      number: maskNumber(line.area, line.phoneNumber),
      truth: expected,
      lookup,
      participants,
      ok: lookup === expected && participants === expected,
    };
  });
  return [...rows, ...strangers(truth, answers)];
}

/** Phone callers the service lists that the story never had. */
function strangers(truth: Truth, answers: Answers): Row[] {
  return meetingsOf(truth).flatMap(({ meeting, known }) =>
    (answers.participants.get(meeting.meetingId) ?? [])
      .filter((item) => !item.ms_open_id || !known.has(item.ms_open_id))
      .map((item) => ({
        meeting: meeting.index,
        caller: 'unknown caller',
        number: item.phone_number ? maskNumber(String(item.area), String(item.phone_number)) : NONE,
        truth: NONE,
        lookup: NONE,
        participants: describe([{ msOpenId: item.ms_open_id, status: item.status }]),
        ok: false,
      })),
  );
}

export interface SettleOptions {
  /** How long to wait for the answers to match before reporting them as they are. */
  timeoutMs: number;
  onProgress?: (right: number, total: number) => void;
}

/**
 * Polls until every answer matches or time is up, and answers the last comparison. Resolution
 * is asynchronous (a queue, then Tencent), so answers settle a moment after the webhooks.
 * Reading participants has no side effect, so it is polled first; the ms-open-id lookup (which
 * may itself ask Tencent) is read once the participants match, and once more at the deadline.
 */
export async function settle(
  client: ServiceClient,
  truth: Truth,
  { timeoutMs, onProgress }: SettleOptions,
): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  let lastRight = -1;
  for (;;) {
    const participants = await readParticipants(client, truth);
    const timeUp = Date.now() >= deadline;
    const withoutLookups = compare(truth, { lookups: new Map(), participants });
    const participantsMatch = withoutLookups.every((row) => row.participants === row.truth);
    if (participantsMatch || timeUp) {
      const rows = compare(truth, { lookups: await readLookups(client, truth), participants });
      const right = rows.filter((row) => row.ok).length;
      if (right !== lastRight) onProgress?.(right, rows.length);
      lastRight = right;
      if (right === rows.length || timeUp) return rows;
    } else {
      const right = withoutLookups.filter((row) => row.participants === row.truth).length;
      if (right !== lastRight) onProgress?.(right, withoutLookups.length);
      lastRight = right;
    }
    await sleep(250);
  }
}

async function readParticipants(client: ServiceClient, truth: Truth) {
  const answers = new Map<string, ParticipantItem[]>();
  for (const { meeting } of meetingsOf(truth)) {
    answers.set(meeting.meetingId, await client.participants(meeting.meetingId));
  }
  return answers;
}

async function readLookups(client: ServiceClient, truth: Truth) {
  const answers = new Map<string, LookupItem[]>();
  for (const { meeting, lines } of meetingsOf(truth)) {
    answers.set(meeting.meetingId, await client.lookup(meeting.meetingId, lines));
  }
  return answers;
}

function meetingsOf(truth: Truth) {
  const meetings = new Map<string, { meeting: MeetingPlan; lines: Line[]; known: Set<string> }>();
  for (const { meeting, line, ids } of truth) {
    const entry = meetings.get(meeting.meetingId) ?? { meeting, lines: [], known: new Set() };
    entry.lines.push(line);
    for (const id of ids) entry.known.add(id.msOpenId);
    meetings.set(meeting.meetingId, entry);
  }
  return [...meetings.values()];
}

/**
 * Ids with their status, sorted, so two lists compare as strings. A field the answer left out
 * (its document has it optional) shows as "?", never matching the truth.
 */
function describe(ids: { msOpenId?: string; status?: string }[]): string {
  if (ids.length === 0) return NONE;
  return ids
    .map((id) => `${id.msOpenId ?? '?'} ${id.status ?? '?'}`)
    .sort()
    .join(', ');
}

type Digits = number | string | null | undefined;

/** Leading zeros do not count: a JSON Number drops them, and the service stores none. */
function sameNumber(line: Line, area: Digits, phoneNumber: Digits): boolean {
  const digits = (value: Digits) => String(value ?? '').replace(/^0+/, '');
  return digits(area) === digits(line.area) && digits(phoneNumber) === digits(line.phoneNumber);
}
