import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ChangeFeed } from '../change-feed/change-feed';
import type { TrackingChange } from '../change-feed/tracking-change';
import { RedisChannels } from '../redis/redis-channels';
import { RedisClient } from '../redis/redis.client';

export interface PstnStreamEvent {
  /** The Redis stream id, usable as Last-Event-ID; null while Redis is unreachable. */
  id: string | null;
  type: 'participant.joined' | 'participant.resolved' | 'participant.left' | 'meeting.ended';
  data: { meeting_id: string; ms_open_id?: string; area?: string; phone_number?: string };
}

export type PstnEventListener = (event: PstnStreamEvent) => void;

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
 * Phone caller events of every replica, for whoever listens in this process (event streams,
 * lookups and actions waiting for a caller). Each committed change is appended to the meeting's
 * Redis stream (its id is the SSE id) and published, so every replica's listeners hear every
 * replica's changes; a reconnecting client gets what it missed from the stream.
 */
@Injectable()
export class PstnEventStream implements OnModuleInit {
  private readonly listeners = new Map<string, Set<PstnEventListener>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly redis: RedisClient,
    private readonly channels: RedisChannels,
    feed: ChangeFeed,
  ) {
    feed.listen((changes) => this.publish(changes));
  }

  async onModuleInit(): Promise<void> {
    await this.channels.subscribe(CHANNEL, (message) => {
      this.dispatch(JSON.parse(message) as PstnStreamEvent);
    });
  }

  /**
   * Calls `listener` for each of the meeting's events from now on, synchronously registered so
   * that nothing published after this call is missed. Answers the function that stops it.
   */
  listen(meetingId: string, listener: PstnEventListener): () => void {
    const set = this.listeners.get(meetingId) ?? new Set<PstnEventListener>();
    set.add(listener);
    this.listeners.set(meetingId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(meetingId) === set) this.listeners.delete(meetingId);
    };
  }

  /** The meeting's events after `after` still held in its stream (none without Redis). */
  async history(meetingId: string, after: string): Promise<PstnStreamEvent[]> {
    try {
      const entries = await this.redis.xrange(this.streamKey(meetingId), `(${after}`, '+');
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
        const id = await this.redis.xadd(
          this.streamKey(change.meetingId),
          'MAXLEN',
          '~',
          HISTORY,
          '*',
          'e',
          JSON.stringify({ type: event.type, data: event.data }),
        );
        await this.redis.expire(this.streamKey(change.meetingId), 24 * 3600);
        if (!(await this.channels.publish(CHANNEL, JSON.stringify({ ...event, id })))) {
          this.dispatch({ ...event, id });
        }
      } catch {
        // Without Redis, this replica's own listeners still hear it.
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
    for (const listener of this.listeners.get(event.data.meeting_id) ?? []) listener(event);
  }

  private streamKey(meetingId: string): string {
    return this.redis.key('m', meetingId, 'events');
  }
}

/** Orders Redis stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? Number(as - bs) : am > bm ? 1 : -1;
}
