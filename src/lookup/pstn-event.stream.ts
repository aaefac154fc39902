import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Metrics } from '../metrics/metrics';
import { RedisClient } from '../redis/redis.module';
import { ChangeFeed } from '../tracking/change-feed';
import type { TrackingChange } from '../tracking/tracking-change';

export interface PstnStreamEvent {
  /** The Redis stream id, usable as Last-Event-ID; null while Redis is unreachable. */
  id: string | null;
  type: 'participant.joined' | 'participant.resolved' | 'participant.left' | 'meeting.ended';
  data: { meeting_id: string; ms_open_id?: string; area?: string; phone_number?: string };
}

type Send = (event: PstnStreamEvent) => void;

const CHANNEL = 'pstn-events';
/** Events kept per meeting for clients that reconnect with Last-Event-ID. */
const HISTORY = 1000;
const STREAMED = new Set([
  'participant.joined',
  'participant.resolved',
  'participant.left',
  'meeting.ended',
]);

/**
 * Phone caller events for Server-Sent Events subscribers. Each change is appended to the
 * meeting's Redis stream (its id is the SSE id) and published, so every replica's subscribers
 * hear every replica's changes; a reconnecting client gets what it missed from the stream.
 */
@Injectable()
export class PstnEventStream implements OnModuleInit, BeforeApplicationShutdown {
  private readonly subscribers = new Map<string, Set<Send>>();
  private readonly closers = new Set<() => void>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly redis: RedisClient,
    feed: ChangeFeed,
    metrics: Metrics,
  ) {
    feed.listen((changes) => this.publish(changes));
    metrics.gauge(
      'pstn_sse_subscribers',
      'Open participant event streams on this instance',
      () => this.subscriberCount,
    );
  }

  async onModuleInit(): Promise<void> {
    await this.redis.subscribe(CHANNEL, (message) => {
      const event = JSON.parse(message) as PstnStreamEvent;
      this.dispatch(event);
    });
  }

  /** Number of open subscriptions, for the metrics. */
  get subscriberCount(): number {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  /**
   * Sends the meeting's events after `lastEventId` (when given and still held), then live ones.
   * `close` is called on shutdown. Returns the unsubscribe function.
   */
  async subscribe(
    meetingId: string,
    lastEventId: string | undefined,
    send: Send,
    close: () => void,
  ): Promise<() => void> {
    let replayedUpTo: string | null = null;
    const buffered: PstnStreamEvent[] = [];
    let live = false;
    const deliver: Send = (event) => {
      if (!live) buffered.push(event);
      else if (!replayedUpTo || !event.id || compareIds(event.id, replayedUpTo) > 0) send(event);
    };
    const set = this.subscribers.get(meetingId) ?? new Set<Send>();
    set.add(deliver);
    this.subscribers.set(meetingId, set);
    this.closers.add(close);

    if (lastEventId && /^\d+-\d+$/.test(lastEventId)) {
      for (const event of await this.history(meetingId, lastEventId)) {
        send(event);
        replayedUpTo = event.id;
      }
    }
    live = true;
    for (const event of buffered) deliver(event);

    return () => {
      set.delete(deliver);
      if (set.size === 0) this.subscribers.delete(meetingId);
      this.closers.delete(close);
    };
  }

  private async history(meetingId: string, after: string): Promise<PstnStreamEvent[]> {
    try {
      const entries = await this.redis.redis.xrange(this.streamKey(meetingId), `(${after}`, '+');
      return entries.map(([id, fields]) => ({
        id,
        ...(JSON.parse(fields[1]) as Omit<PstnStreamEvent, 'id'>),
      }));
    } catch {
      return [];
    }
  }

  private async publish(changes: TrackingChange[]): Promise<void> {
    for (const change of changes) {
      if (!STREAMED.has(change.type)) continue;
      const event = await this.toEvent(change);
      try {
        const id = await this.redis.redis.xadd(
          this.streamKey(change.meetingId),
          'MAXLEN',
          '~',
          HISTORY,
          '*',
          'e',
          JSON.stringify({ type: event.type, data: event.data }),
        );
        await this.redis.redis.expire(this.streamKey(change.meetingId), 24 * 3600);
        await this.redis.publish(CHANNEL, JSON.stringify({ ...event, id }));
      } catch {
        // Without Redis, this replica's own subscribers still hear it.
        this.dispatch(event);
      }
    }
  }

  private async toEvent(change: TrackingChange): Promise<PstnStreamEvent> {
    const type = change.type as PstnStreamEvent['type'];
    const data: PstnStreamEvent['data'] = { meeting_id: change.meetingId };
    if (change.type === 'participant.resolved') {
      Object.assign(data, {
        ms_open_id: change.msOpenId,
        area: change.area,
        phone_number: change.phoneNumber,
      });
    } else if (change.type === 'participant.joined' || change.type === 'participant.left') {
      data.ms_open_id = change.msOpenId;
      const [mapping] = await this.dataSource.query<{ area: string; phone_number: string }[]>(
        `SELECT area, phone_number FROM ms_open_id_mappings WHERE meeting_id = $1 AND ms_open_id = $2`,
        [change.meetingId, change.msOpenId],
      );
      if (mapping) Object.assign(data, mapping);
    }
    return { id: null, type, data };
  }

  private dispatch(event: PstnStreamEvent): void {
    for (const send of this.subscribers.get(event.data.meeting_id) ?? []) send(event);
  }

  private streamKey(meetingId: string): string {
    return this.redis.key('m', meetingId, 'events');
  }

  /** Ends open streams before the HTTP server waits for its connections to finish. */
  beforeApplicationShutdown(): void {
    for (const close of this.closers) close();
  }
}

/** Orders Redis stream ids ("ms-seq"). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? Number(as - bs) : am > bm ? 1 : -1;
}
