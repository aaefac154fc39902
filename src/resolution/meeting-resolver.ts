import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ChangeFeed } from '../change-feed/change-feed';
import { Env } from '../config/env.schema';
import { RedisClient } from '../redis/redis.client';
import { MsOpenIdClient, type MsOpenIdEntry } from '../tencent/ms-open-id.client';
import type { PhoneNumber } from '../tencent/phone-number';
import { TencentApi, type UpstreamAttempt } from '../tencent/tencent-api.client';
import { TencentApiError } from '../tencent/tencent-api.error';
import { ResolutionQueue } from './resolution-queue';
import {
  ResolutionStore,
  type ResolutionAttemptRow,
  type ResolutionNeeds,
} from './resolution.store';

/** Follow-up delays while connected callers stay unmapped; the last one repeats. */
const FOLLOW_UP_SECONDS = [1, 2, 5, 10, 30, 60];
/** Numbers per upstream call; a meeting's pending numbers otherwise go in one call. */
const NUMBERS_PER_CALL = 100;
/**
 * Tencent may answer a call's id a little after its join webhook; a number asked this long
 * after the newest unmapped caller connected, and not answered, is not that caller.
 */
const SETTLE_MS = 10_000;

/** Who waits for a meeting's next call, so it goes ahead of background resolution. */
export type Waiting = 'lookup' | 'action';

interface MeetingState {
  running: boolean;
  /** A request arrived after the running round read what to ask: run once more after it. */
  again: boolean;
  /** A phone call connected since the last round read what to ask. */
  connected: boolean;
  /** An operator asked for every tracked number to be asked again. */
  everything: boolean;
  /** A lookup or an action waits for the meeting's next call. */
  waiting: Waiting | null;
  followUps: number;
  timer?: NodeJS.Timeout;
  /** Callers waiting for the next round to finish. */
  waiters: (() => void)[];
}

/** The requests one round serves. */
interface Round {
  connected: boolean;
  everything: boolean;
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
    api: TencentApi,
  ) {
    // About a second of calls at the configured rate wait on the limiter; the rest in line.
    this.queue = new ResolutionQueue(
      Math.max(1, Math.round(env.TENCENT_RATE_LIMIT_PER_MINUTE / 60)),
    );
    api.onRecovered(() => this.retryWaiting());
    // A phone call connected: the meeting's numbers may resolve now; it ended: no more calls.
    feed.listen((changes) => {
      for (const change of changes) {
        if (change.type === 'phone.connected') void this.request(change.meetingId);
        if (change.type === 'meeting.ended') this.cancel(change.meetingId);
      }
    });
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
   * Resolves the meeting soon; `connected` says a phone call just connected, `waiting` that a
   * lookup or an action waits for the answer (its call goes ahead of meetings nobody waits
   * for). The promise settles when a round that read what to ask after this request has
   * finished, however it ended.
   */
  request(
    meetingId: string,
    connected = true,
    { waiting = null, everything = false }: { waiting?: Waiting | null; everything?: boolean } = {},
  ): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const state = this.meetings.get(meetingId) ?? {
      running: false,
      again: false,
      connected: false,
      everything: false,
      waiting: null,
      followUps: 0,
      waiters: [],
    };
    this.meetings.set(meetingId, state);
    if (connected) {
      state.connected = true;
      state.followUps = 0;
    }
    if (everything) state.everything = true;
    if (waiting && state.waiting !== 'action') state.waiting = waiting;
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
    const round = this.take(state, { connected: false, everything: false, waiters: [] });
    try {
      // Checked before joining the line too, so that a meeting with nothing to ask never waits.
      if ((await this.numbersToAsk(meetingId, round)).length === 0) return false;
      const endTurn = await this.queue.turn(() => state.waiting !== null);
      try {
        // Whatever was requested while the meeting waited in line goes in this call.
        this.take(state, round);
        const waiting = state.waiting;
        state.waiting = null;
        const numbers = this.stopped ? [] : await this.numbersToAsk(meetingId, round);
        if (numbers.length === 0) return false;
        // Another replica is asking for this meeting: look again after it.
        if (!(await this.askLocked(meetingId, numbers, waiting))) return true;
      } finally {
        endTurn();
      }
    } finally {
      round.waiters.forEach((resolve) => resolve());
    }
    // Follow up while a number could still be an unmapped caller who connected lately.
    const after = await this.store.needs(meetingId);
    const horizon = Date.now() - this.env.RESOLVE_HORIZON_SECONDS * 1000;
    return (
      numbersToAsk(after, { connected: false, everything: false }).length > 0 &&
      after.unmappedConnected.some((caller) => caller.connectedAt.getTime() > horizon)
    );
  }

  /** Moves the requests made so far into the round, which serves them. */
  private take(state: MeetingState, round: Round): Round {
    round.connected ||= state.connected;
    round.everything ||= state.everything;
    round.waiters.push(...state.waiters);
    state.connected = false;
    state.everything = false;
    state.waiters = [];
    state.again = false;
    return round;
  }

  private async numbersToAsk(meetingId: string, round: Round): Promise<PhoneNumber[]> {
    return numbersToAsk(await this.store.needs(meetingId), round);
  }

  /** Asks under the meeting's Redis lock, in calls of 100; false when another replica has it. */
  private async askLocked(
    meetingId: string,
    numbers: PhoneNumber[],
    waiting: Waiting | null,
  ): Promise<boolean> {
    const lock = await this.lock(meetingId);
    if (lock === false) return false;
    try {
      for (let i = 0; i < numbers.length; i += NUMBERS_PER_CALL) {
        await this.ask(meetingId, numbers.slice(i, i + NUMBERS_PER_CALL), waiting);
      }
    } finally {
      await this.unlock(meetingId, lock);
    }
    return true;
  }

  private async ask(
    meetingId: string,
    numbers: PhoneNumber[],
    waiting: Waiting | null,
  ): Promise<void> {
    const asked = numbers.map(({ area, phoneNumber }) => ({ area, phoneNumber }));
    const attempts: ResolutionAttemptRow[] = [];
    const record = (attempt: UpstreamAttempt) =>
      attempts.push({ ...attempt, numbersAsked: asked.length, idsReturned: 0 });
    let entries: MsOpenIdEntry[];
    try {
      entries = await this.client.lookup(meetingId, asked, waiting ?? 'resolve', record);
      attempts[attempts.length - 1].idsReturned = entries.length;
    } finally {
      await this.store.recordAttempts(meetingId, attempts);
    }
    // Only an answer counts as asked: after a failed call, every number may still match.
    await this.store.markAsked(meetingId, asked);
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
      const ok = await this.redis.set(this.lockKey(meetingId), token, 'PX', 60_000, 'NX');
      return ok === 'OK' ? token : false;
    } catch {
      return null;
    }
  }

  private async unlock(meetingId: string, token: string | null): Promise<void> {
    if (!token) return;
    await this.redis
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

/**
 * Which tracked numbers a round asks about. An unmapped connected caller may be any tracked
 * number, even one already mapped (a line can dial in twice), but not a number Tencent already
 * answered nothing for, asked after that caller's call had settled: such a number is asked
 * again only once a newer call connects. Without an unmapped caller, a fresh connection can
 * only be a number with no id yet. An operator's request asks every number.
 */
export function numbersToAsk(
  needs: ResolutionNeeds,
  { connected, everything }: Pick<Round, 'connected' | 'everything'>,
): PhoneNumber[] {
  if (!needs.meetingOpen) return [];
  const toNumber = ({ area, phoneNumber }: PhoneNumber) => ({ area, phoneNumber });
  if (everything) return needs.trackedNumbers.map(toNumber);
  if (needs.unmappedConnected.length > 0) {
    const newest = Math.max(...needs.unmappedConnected.map((c) => c.connectedAt.getTime()));
    return needs.trackedNumbers
      .filter((n) => n.lastAskedAt === null || n.lastAskedAt.getTime() < newest + SETTLE_MS)
      .map(toNumber);
  }
  return connected ? needs.trackedNumbers.filter((n) => !n.mapped).map(toNumber) : [];
}
