import { storableText } from './storable-text';

/**
 * Turns every known revision of a decoded Tencent Meeting event into one typed shape.
 * Parsing is tolerant: only what the service uses is read, unknown fields are ignored, and the
 * raw JSON is kept beside the result by the caller.
 */

export interface TencentEventOperator {
  msOpenId: string | null;
  /** Device type; "0" is a phone (PSTN) caller. Always a string here. */
  instanceId: string | null;
  pstnNumber: string | null;
  userId: string | null;
  userName: string | null;
}

export interface TencentEventMeeting {
  meetingId: string | null;
  meetingCode: string | null;
  subject: string | null;
  creatorUserId: string | null;
  startTime: Date | null;
  endTime: Date | null;
  /** 0 main meeting, 1 breakout room. */
  meetingIdType: number | null;
}

export interface TencentEventItem {
  operateTime: Date | null;
  operator: TencentEventOperator;
  meeting: TencentEventMeeting;
  /** Callout status of `meeting.phone.participant-status-updated` (e.g. `START_ACCEPT`). */
  phoneStatus: string | null;
}

export interface TencentEvent {
  event: string;
  traceId: string | null;
  uniqueSequence: string | null;
  items: TencentEventItem[];
}

/** The plaintext is not an event this service can store: a 400. */
export class MalformedEventError extends Error {}

type Json = Record<string, unknown>;

/**
 * Parses a decoded plaintext. Ids Tencent sends as strings may arrive as JSON numbers too large
 * for a double (a meeting id exceeds 2^53): when one does, the text is read again with such
 * integers kept as their digits, so no id is ever rounded.
 */
export function parseTencentEvent(plaintext: string): { event: TencentEvent; raw: Json } {
  const raw = parseObject(plaintext);
  const inexact = { found: false };
  const event = normalizeTencentEvent(raw, inexact);
  if (!inexact.found) return { raw, event };
  const exact = JSON.parse(plaintext, keepLargeIntegersAsDigits) as Json;
  return { raw: exact, event: normalizeTencentEvent(exact) };
}

function parseObject(plaintext: string): Json {
  let raw: unknown;
  try {
    raw = JSON.parse(plaintext);
  } catch {
    throw new MalformedEventError('decoded data is not JSON');
  }
  if (!isObject(raw)) throw new MalformedEventError('decoded data is not a JSON object');
  return raw;
}

/** JSON.parse reviver: an integer beyond 2^53 becomes the digits it was written with. */
function keepLargeIntegersAsDigits(
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  return typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
    ? context.source
    : value;
}

/**
 * The typed view of a parsed event object. `inexact.found` is set when an id was a number that
 * a double cannot hold exactly.
 */
export function normalizeTencentEvent(
  raw: Record<string, unknown>,
  inexact: { found: boolean } = { found: false },
): TencentEvent {
  const id = (value: unknown): string | null => {
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      inexact.found = true;
    }
    return text(value);
  };
  const event = text(raw.event);
  if (!event) throw new MalformedEventError('decoded event has no "event" name');
  const payload = Array.isArray(raw.payload)
    ? raw.payload
    : isObject(raw.payload)
      ? [raw.payload]
      : [];
  return {
    event,
    traceId: id(raw.trace_id),
    uniqueSequence: id(raw.unique_sequence),
    items: payload.filter(isObject).map((item) => parseItem(item, id)),
  };
}

function parseItem(item: Json, id: (value: unknown) => string | null): TencentEventItem {
  const operator = isObject(item.operator) ? item.operator : {};
  const info = isObject(item.meeting_info) ? item.meeting_info : {};
  const creator = isObject(info.creator) ? info.creator : {};
  return {
    operateTime: tencentTime(item.operate_time, 'ms'),
    operator: {
      msOpenId: id(operator.ms_open_id),
      instanceId: text(operator.instance_id),
      pstnNumber: text(operator.pstn_number),
      userId: id(operator.userid),
      userName: text(operator.user_name),
    },
    meeting: {
      meetingId: id(info.meeting_id),
      meetingCode: text(info.meeting_code),
      subject: text(info.subject),
      creatorUserId: text(creator.userid) ?? text(info.creator_id),
      startTime: tencentTime(info.start_time, 's'),
      endTime: tencentTime(info.end_time, 's'),
      meetingIdType: integer(info.meeting_id_type),
    },
    // Where the callout status sits is not pinned down by Tencent's docs (uncertain): accept it
    // on the item or on the operator.
    phoneStatus: text(item.status) ?? text(operator.status),
  };
}

/**
 * Tencent sends times as epoch numbers (ms for operate_time, s for meeting times), as digit
 * strings, or in older payloads as "YYYY-MM-DD HH:MM:SS" in UTC+8.
 */
export function tencentTime(value: unknown, unit: 'ms' | 's'): Date | null {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    return new Date(unit === 's' ? value * 1000 : value);
  }
  if (typeof value !== 'string' || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return tencentTime(Number(trimmed), unit);
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(trimmed);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h - 8, mi, s));
}

/** Every string field of an event, as Postgres can store it (see storableText). */
function text(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : storableText(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function integer(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
