import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Env } from '../config/env.schema';
import { RedisClient } from '../redis/redis.module';
import { TencentApiError } from '../tencent/tencent-api.error';
import {
  MsOpenIdClient,
  type MsOpenIdEntry,
  type PhoneNumber,
  type UpstreamAttempt,
} from '../tencent/ms-open-id.client';
import { ChangeFeed } from '../tracking/change-feed';
import { ResolutionStore } from './resolution.store';

/** Follow-up delays while connected callers stay unmapped; the last one repeats. */
const FOLLOW_UP_SECONDS = [1, 2, 5, 10, 30, 60];
/** Numbers per upstream call; a meeting's pending numbers otherwise go in one call. */
const NUMBERS_PER_CALL = 100;

interface MeetingState {
  running: boolean;
  /** A request arrived while a call was running: run once more after it. */
  again: boolean;
  /** A phone call connected since the last run. */
  connected: boolean;
  followUps: number;
  timer?: NodeJS.Timeout;
  /** Callers waiting for the next round to finish. */
  waiters: (() => void)[];
}

/**
 * Learns the ms_open_ids of a meeting's tracked numbers from Tencent. At most one call is in
 * flight per meeting (in this process by a state machine, across replicas by a Redis lock);
 * requests that arrive meanwhile are coalesced into the next call.
 */
@Injectable()
export class MeetingResolver implements OnApplicationShutdown {
  private readonly logger = new Logger(MeetingResolver.name);
  private readonly meetings = new Map<string, MeetingState>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly env: Env,
    private readonly store: ResolutionStore,
    private readonly client: MsOpenIdClient,
    private readonly redis: RedisClient,
    private readonly feed: ChangeFeed,
  ) {}

  /**
   * Resolves the meeting soon; `connected` says a phone call just connected. The promise
   * settles when a round that started after this request has finished, however it ended.
   */
  request(meetingId: string, connected = true): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const state = this.meetings.get(meetingId) ?? {
      running: false,
      again: false,
      connected: false,
      followUps: 0,
      waiters: [],
    };
    this.meetings.set(meetingId, state);
    if (connected) {
      state.connected = true;
      state.followUps = 0;
    }
    const done = new Promise<void>((resolve) => state.waiters.push(resolve));
    if (state.running) {
      state.again = true;
      return done;
    }
    clearTimeout(state.timer);
    const run = this.run(meetingId, state).finally(() => this.running.delete(run));
    this.running.add(run);
    return done;
  }

  /** The meeting ended: no more calls for it. */
  cancel(meetingId: string): void {
    const state = this.meetings.get(meetingId);
    if (!state) return;
    clearTimeout(state.timer);
    if (!state.running) this.meetings.delete(meetingId);
  }

  private async run(meetingId: string, state: MeetingState): Promise<void> {
    state.running = true;
    let followUp: boolean;
    let waiters: (() => void)[] = [];
    try {
      do {
        state.again = false;
        const connected = state.connected;
        state.connected = false;
        waiters = state.waiters;
        state.waiters = [];
        followUp = await this.resolveOnce(meetingId, connected);
        waiters.forEach((resolve) => resolve());
      } while (state.again && !this.stopped);
    } catch (error) {
      followUp = !(error instanceof TencentApiError) || error.retryable;
      this.logger.warn(`resolving meeting ${meetingId} failed: ${(error as Error).message}`);
    } finally {
      state.running = false;
      [...waiters, ...state.waiters].forEach((resolve) => resolve());
      state.waiters = [];
    }
    if (!followUp || this.stopped) {
      this.meetings.delete(meetingId);
      return;
    }
    const delay = FOLLOW_UP_SECONDS[Math.min(state.followUps, FOLLOW_UP_SECONDS.length - 1)];
    state.followUps += 1;
    state.timer = setTimeout(() => void this.request(meetingId, false), delay * 1000);
  }

  /** One round: asks Tencent if there is anything to ask; true when a follow-up is due. */
  private async resolveOnce(meetingId: string, connected: boolean): Promise<boolean> {
    const needs = await this.store.needs(meetingId);
    if (!needs.meetingOpen) return false;
    // An unmapped connected caller may be any tracked number, even one already mapped (a line
    // can dial in twice). Without one, a fresh connection can only be a number with no id yet.
    const numbers =
      needs.unmappedConnected.length > 0
        ? needs.trackedNumbers
        : connected
          ? needs.trackedNumbers.filter((number) => !number.mapped)
          : [];
    if (numbers.length === 0) return false;

    const lock = await this.lock(meetingId);
    if (lock === false) return true;
    try {
      for (let i = 0; i < numbers.length; i += NUMBERS_PER_CALL) {
        await this.ask(meetingId, numbers.slice(i, i + NUMBERS_PER_CALL));
      }
    } finally {
      await this.unlock(meetingId, lock);
    }

    const after = await this.store.needs(meetingId);
    const horizon = Date.now() - this.env.RESOLVE_HORIZON_SECONDS * 1000;
    return (
      after.meetingOpen &&
      after.trackedNumbers.length > 0 &&
      after.unmappedConnected.some((caller) => caller.connectedAt.getTime() > horizon)
    );
  }

  private async ask(meetingId: string, numbers: PhoneNumber[]): Promise<void> {
    const asked = numbers.map(({ area, phoneNumber }) => ({ area, phoneNumber }));
    const attempts: UpstreamAttempt[] = [];
    let entries: MsOpenIdEntry[];
    try {
      entries = await this.client.lookup(meetingId, asked, (a) => attempts.push(a));
    } finally {
      await this.store.recordAttempts(meetingId, attempts);
    }
    const added = await this.store.saveMappings(meetingId, asked, entries);
    await this.feed.publish(
      added.map((mapping) => ({ type: 'participant.resolved' as const, meetingId, ...mapping })),
    );
  }

  /**
   * A Redis lock so that replicas never call for one meeting at once. Without Redis the
   * in-process state machine still holds, and replicas may overlap until Redis is back.
   * Answers the lock's token; false when another replica holds it; null without Redis.
   */
  private async lock(meetingId: string): Promise<string | false | null> {
    const token = randomUUID();
    try {
      const ok = await this.redis.redis.set(this.lockKey(meetingId), token, 'PX', 60_000, 'NX');
      return ok === 'OK' ? token : false;
    } catch {
      return null;
    }
  }

  private async unlock(meetingId: string, token: string | null): Promise<void> {
    if (!token) return;
    await this.redis.redis
      .eval(
        `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
        1,
        this.lockKey(meetingId),
        token,
      )
      .catch(() => undefined);
  }

  private lockKey(meetingId: string): string {
    return this.redis.key('resolve-lock', meetingId);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const state of this.meetings.values()) clearTimeout(state.timer);
    await Promise.allSettled([...this.running]);
  }
}
