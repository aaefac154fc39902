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
import { ResolutionQueue } from './resolution-queue';
import { ResolutionStore } from './resolution.store';

/** Follow-up delays while connected callers stay unmapped; the last one repeats. */
const FOLLOW_UP_SECONDS = [1, 2, 5, 10, 30, 60];
/** Numbers per upstream call; a meeting's pending numbers otherwise go in one call. */
const NUMBERS_PER_CALL = 100;

interface MeetingState {
  running: boolean;
  /** A request arrived after the running round read what to ask: run once more after it. */
  again: boolean;
  /** A phone call connected since the last round read what to ask. */
  connected: boolean;
  /** A lookup waits for the meeting's next call. */
  urgent: boolean;
  followUps: number;
  timer?: NodeJS.Timeout;
  /** Callers waiting for the next round to finish. */
  waiters: (() => void)[];
}

/** The requests one round serves. */
interface Round {
  connected: boolean;
  waiters: (() => void)[];
}

/**
 * Learns the ms_open_ids of a meeting's tracked numbers from Tencent. At most one call is in
 * flight per meeting (in this process by a state machine, across replicas by a Redis lock).
 * A meeting waits for its turn in a line before it reads what to ask, so requests that arrive
 * while it waits (callers connecting, lookups) are served by that one call; requests that
 * arrive later are coalesced into the next call.
 */
@Injectable()
export class MeetingResolver implements OnApplicationShutdown {
  private readonly logger = new Logger(MeetingResolver.name);
  private readonly meetings = new Map<string, MeetingState>();
  private readonly running = new Set<Promise<void>>();
  private readonly queue: ResolutionQueue;
  private stopped = false;

  constructor(
    private readonly env: Env,
    private readonly store: ResolutionStore,
    private readonly client: MsOpenIdClient,
    private readonly redis: RedisClient,
    private readonly feed: ChangeFeed,
  ) {
    // About a second of calls at the configured rate wait on the limiter; the rest in line.
    this.queue = new ResolutionQueue(
      Math.max(1, Math.round(env.TENCENT_RATE_LIMIT_PER_MINUTE / 60)),
    );
    client.onRecovered(() => this.retryWaiting());
  }

  /** Tencent answers again: meetings waiting for a follow-up try now rather than at its time. */
  private retryWaiting(): void {
    for (const [meetingId, state] of this.meetings) {
      if (state.running || !state.timer) continue;
      clearTimeout(state.timer);
      state.timer = undefined;
      void this.request(meetingId, false);
    }
  }

  /**
   * Resolves the meeting soon; `connected` says a phone call just connected, `urgent` that a
   * lookup waits for the answer (its call goes ahead of meetings nobody waits for). The promise
   * settles when a round that read what to ask after this request has finished, however it
   * ended.
   */
  request(meetingId: string, connected = true, { urgent = false } = {}): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const state = this.meetings.get(meetingId) ?? {
      running: false,
      again: false,
      connected: false,
      urgent: false,
      followUps: 0,
      waiters: [],
    };
    this.meetings.set(meetingId, state);
    if (connected) {
      state.connected = true;
      state.followUps = 0;
    }
    if (urgent) state.urgent = true;
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
    try {
      do {
        followUp = await this.resolveOnce(meetingId, state);
      } while (state.again && !this.stopped);
    } catch (error) {
      followUp = !(error instanceof TencentApiError) || error.retryable;
      this.logger.warn(`resolving meeting ${meetingId} failed: ${(error as Error).message}`);
    } finally {
      state.running = false;
      state.waiters.forEach((resolve) => resolve());
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
  private async resolveOnce(meetingId: string, state: MeetingState): Promise<boolean> {
    const round = this.take(state, { connected: false, waiters: [] });
    try {
      // Checked before joining the line too, so that a meeting with nothing to ask never waits.
      if ((await this.numbersToAsk(meetingId, round.connected)).length === 0) return false;
      const endTurn = await this.queue.turn(() => state.urgent);
      try {
        // Whatever was requested while the meeting waited in line goes in this call.
        this.take(state, round);
        state.urgent = false;
        const numbers = this.stopped ? [] : await this.numbersToAsk(meetingId, round.connected);
        if (numbers.length === 0) return false;
        // Another replica is asking for this meeting: look again after it.
        if (!(await this.askLocked(meetingId, numbers))) return true;
      } finally {
        endTurn();
      }
    } finally {
      round.waiters.forEach((resolve) => resolve());
    }
    const after = await this.store.needs(meetingId);
    const horizon = Date.now() - this.env.RESOLVE_HORIZON_SECONDS * 1000;
    return (
      after.meetingOpen &&
      after.trackedNumbers.length > 0 &&
      after.unmappedConnected.some((caller) => caller.connectedAt.getTime() > horizon)
    );
  }

  /** Moves the requests made so far into the round, which serves them. */
  private take(state: MeetingState, round: Round): Round {
    round.connected ||= state.connected;
    round.waiters.push(...state.waiters);
    state.connected = false;
    state.waiters = [];
    state.again = false;
    return round;
  }

  private async numbersToAsk(meetingId: string, connected: boolean): Promise<PhoneNumber[]> {
    const needs = await this.store.needs(meetingId);
    if (!needs.meetingOpen) return [];
    // An unmapped connected caller may be any tracked number, even one already mapped (a line
    // can dial in twice). Without one, a fresh connection can only be a number with no id yet.
    if (needs.unmappedConnected.length > 0) return needs.trackedNumbers;
    return connected ? needs.trackedNumbers.filter((number) => !number.mapped) : [];
  }

  /** Asks under the meeting's Redis lock, in calls of 100; false when another replica has it. */
  private async askLocked(meetingId: string, numbers: PhoneNumber[]): Promise<boolean> {
    const lock = await this.lock(meetingId);
    if (lock === false) return false;
    try {
      for (let i = 0; i < numbers.length; i += NUMBERS_PER_CALL) {
        await this.ask(meetingId, numbers.slice(i, i + NUMBERS_PER_CALL));
      }
    } finally {
      await this.unlock(meetingId, lock);
    }
    return true;
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
