import type { PstnTrackerApi } from './answers';
import {
  EventStreamParser,
  type ParserListener,
  type ServerSentEvent,
} from './event-stream-parser';
import { PstnTrackerError } from './pstn-tracker-error';

/**
 * `GET /v1/meetings/{meetingId}/pstn-events`, followed for as long as the caller wants it: a
 * dropped, ended or silent connection is opened again with Last-Event-ID, and the service sends
 * what was missed (it keeps a meeting's last 1000 events for a day) before live events, so
 * nothing is lost or repeated across reconnections. The document cannot describe the events of
 * a stream, so their types are written here, after src/lookup/pstn-event.stream.ts.
 */

export type PstnEventType =
  'participant.joined' | 'participant.resolved' | 'participant.left' | 'meeting.ended';

export interface PstnEvent {
  /**
   * The service's event id (a Redis stream id), to resume from with `lastEventId`. Undefined
   * for an event sent while the service could not reach Redis: such an event cannot be resumed
   * from, and is not sent again.
   */
  id: string | undefined;
  type: PstnEventType;
  data: {
    meeting_id: string;
    /** Absent only on `meeting.ended`. */
    ms_open_id?: string;
    /** Digits, once the caller's number is known. */
    area?: string;
    phone_number?: string;
  };
}

export interface PstnEventsOptions {
  /** Stops the subscription: the promise then resolves. */
  signal: AbortSignal;
  /** Called in order, one at a time: a promise it returns is awaited before the next event. */
  onEvent: (event: PstnEvent) => void | Promise<void>;
  /** Resume after this event id (one of an earlier subscription) instead of from now. */
  lastEventId?: string;
  /** Each time the stream is open (again): from then on, nothing of the meeting is missed. */
  onOpen?: () => void;
  /** The connection failed or ended and is opened again in `delayMs`. */
  onReconnect?: (reason: unknown, delayMs: number) => void;
  /** First wait before reconnecting, until the server sends `retry:` (default 1000 ms). */
  retryMs?: number;
  /** A connection silent this long is dead (the service sends a heartbeat every 15 s). */
  idleTimeoutMs?: number;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<PstnEventType>([
  'participant.joined',
  'participant.resolved',
  'participant.left',
  'meeting.ended',
]);
/** The longest wait between attempts, unless the server's `retry:` asks for longer. */
const MAX_DELAY_MS = 30_000;
/** Three heartbeats missed. */
const IDLE_TIMEOUT_MS = 45_000;

/** Wraps an error that another attempt cannot mend: the subscription ends with it. */
class Final extends Error {
  constructor(readonly error: unknown) {
    super('final', { cause: error });
  }
}

/**
 * Follows the meeting's events until `signal` aborts (the promise resolves) or an answer that
 * retrying cannot fix (401, 403, 400: it rejects with a PstnTrackerError, or with what
 * `onEvent` threw). 429 (too many streams), 5xx, network errors, the end of the stream and
 * silence are retried after `retryMs`, doubled after each failed attempt in a row up to 30 s,
 * plus up to half as much again at random so that clients dropped together do not come back
 * together. Needs the `lookup` scope.
 */
export async function subscribePstnEvents(
  api: PstnTrackerApi,
  meetingId: string,
  options: PstnEventsOptions,
): Promise<void> {
  const { signal } = options;
  let retryMs = options.retryMs ?? 1000;
  let failuresInARow = 0;
  let lastEventId = options.lastEventId;
  let arrived: ServerSentEvent[] = [];
  const listener: ParserListener = {
    event: (event) => arrived.push(event),
    retry: (ms) => (retryMs = ms),
  };

  while (!signal.aborted) {
    // A block the last connection left unfinished is dropped with it; its last id is kept.
    const parser = new EventStreamParser(listener, lastEventId);
    const connection = new AbortController();
    const abort = () => connection.abort(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    const idle = new IdleTimer(connection, options.idleTimeoutMs ?? IDLE_TIMEOUT_MS);
    let reason: unknown = new Error('the event stream ended');
    try {
      const body = await open(api, meetingId, lastEventId, connection.signal);
      failuresInARow = 0;
      options.onOpen?.();
      const reader = body.getReader();
      // One decoder per connection: a character cut between two chunks is joined again.
      const decoder = new TextDecoder();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        idle.restart();
        parser.push(decoder.decode(read.value, { stream: true }));
        const events = arrived;
        arrived = [];
        for (const event of events) if (!signal.aborted) await deliver(event, options.onEvent);
      }
    } catch (error) {
      if (error instanceof Final) throw error.error;
      reason = connection.signal.aborted ? connection.signal.reason : error;
    } finally {
      idle.stop();
      signal.removeEventListener('abort', abort);
      connection.abort();
      lastEventId = parser.lastEventId;
    }
    if (signal.aborted) return;
    const delay = Math.min(retryMs * 2 ** failuresInARow, Math.max(MAX_DELAY_MS, retryMs));
    const delayMs = Math.round(delay * (1 + Math.random() / 2));
    failuresInARow += 1;
    options.onReconnect?.(reason, delayMs);
    await sleep(delayMs, signal);
  }
}

async function open(
  api: PstnTrackerApi,
  meetingId: string,
  lastEventId: string | undefined,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const { data, error, response } = await api.GET('/v1/meetings/{meetingId}/pstn-events', {
    params: { path: { meetingId } },
    headers: { accept: 'text/event-stream', 'last-event-id': lastEventId },
    parseAs: 'stream',
    signal,
  });
  if (!response.ok) {
    const failure = new PstnTrackerError(response.status, error);
    const retried = response.status >= 500 || response.status === 408 || response.status === 429;
    throw retried ? failure : new Final(failure);
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream') || !data) {
    throw new Final(new Error(`expected a text/event-stream, got ${type || 'no content type'}`));
  }
  return data;
}

/** Events of other names (none today) are skipped, so a newer service breaks no older client. */
async function deliver(
  event: ServerSentEvent,
  onEvent: PstnEventsOptions['onEvent'],
): Promise<void> {
  if (!EVENT_TYPES.has(event.type)) return;
  try {
    const data = JSON.parse(event.data) as PstnEvent['data'];
    await onEvent({ id: event.id, type: event.type as PstnEventType, data });
  } catch (error) {
    throw new Final(error);
  }
}

/** Aborts a connection that has been silent for `ms`, from its request on. */
class IdleTimer {
  private timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly connection: AbortController,
    private readonly ms: number,
  ) {
    this.timer = this.start();
  }

  restart(): void {
    clearTimeout(this.timer);
    this.timer = this.start();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private start(): ReturnType<typeof setTimeout> {
    return setTimeout(
      () => this.connection.abort(new Error(`nothing arrived in ${this.ms} ms`)),
      this.ms,
    );
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
