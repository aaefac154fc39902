import { Injectable } from '@nestjs/common';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import { RedisClient } from '../redis/redis.client';

/**
 * Why a call to Tencent is made, in the order the shared budget serves them: a control action
 * and a lookup someone waits for first, background resolution next, roster reconciliation last.
 */
export const PURPOSES = ['action', 'lookup', 'resolve', 'reconcile'] as const;
export type UpstreamPurpose = (typeof PURPOSES)[number];

const outranks = (a: UpstreamPurpose, b: UpstreamPurpose) =>
  PURPOSES.indexOf(a) < PURPOSES.indexOf(b);

/**
 * GCRA (a token bucket kept as one timestamp): answers how many ms to wait before the next call
 * may go out, and books the call when the answer is 0. `headroom` is how much of the burst must
 * stay free after this call: background work only spends what the others leave spare. Same logic
 * in Redis (shared by every replica) and in memory (the fallback while Redis is unreachable).
 * Redis turns a Lua number into an integer by truncation, so a wait under 1 ms would come back
 * as 0 without the call being booked: the wait is rounded up.
 */
const GCRA_LUA = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3]) - tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return math.ceil(wait) end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tonumber(ARGV[3]) + interval) + 1000)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 120)
return 0`;

interface Waiter {
  purpose: UpstreamPurpose;
  grant: () => void;
}

/**
 * The shared upstream budget: Tencent allows an app 300 calls a minute, whoever makes them. One
 * reservation at a time is made for this process's waiters, and each free slot goes to the
 * waiter of the highest purpose, first come first served within a purpose. Calls are counted per
 * purpose and minute in Redis, so /admin/stats and /metrics show what every replica spent.
 */
@Injectable()
export class UpstreamRateLimiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly perMinute: number;
  private readonly waiting = new Map<UpstreamPurpose, Waiter[]>(PURPOSES.map((p) => [p, []]));
  private pumping = false;
  /** The pump waiting for a slot for a waiter of this purpose, and how to wake it early. */
  private sleeping: { purpose: UpstreamPurpose; wake: () => void } | null = null;
  private localTat = 0;
  /** Calls booked by the in-memory fallback, for the budget while Redis is unreachable. */
  private local = { minute: '', counts: new Map<UpstreamPurpose, number>() };
  /** Total time callers waited for the limiter. */
  private waitedMs = 0;

  constructor(
    env: Env,
    private readonly redis: RedisClient,
    metrics: Metrics,
  ) {
    this.perMinute = env.TENCENT_RATE_LIMIT_PER_MINUTE;
    this.intervalMs = 60_000 / env.TENCENT_RATE_LIMIT_PER_MINUTE;
    this.toleranceMs = this.intervalMs * (env.TENCENT_RATE_LIMIT_BURST - 1);
    metrics.gauge(
      'pstn_upstream_rate_limit_waited_seconds',
      'Total time upstream calls waited for the shared rate limit',
      () => this.waitedMs / 1000,
    );
    metrics.gauge(
      'pstn_upstream_budget_remaining',
      'Upstream calls left this minute, all replicas and purposes together',
      async () => (await this.budget()).remaining,
    );
    metrics.labelledGauge(
      'pstn_upstream_budget_used',
      'Upstream calls made this minute by purpose, all replicas together',
      'purpose',
      async () => (await this.budget()).used,
    );
  }

  /** Resolves when one upstream call for `purpose` may be made. */
  acquire(purpose: UpstreamPurpose): Promise<void> {
    return new Promise((grant) => {
      this.waiting.get(purpose)?.push({ purpose, grant });
      // The pump may be waiting out a slot for a lower purpose, which may leave one free now.
      if (this.sleeping && outranks(purpose, this.sleeping.purpose)) this.sleeping.wake();
      void this.pump();
    });
  }

  /** This minute's calls per purpose (every replica's), and what is left of the minute's rate. */
  async budget(): Promise<{
    minute: string;
    used: Record<UpstreamPurpose, number>;
    remaining: number;
    perMinute: number;
  }> {
    const minute = currentMinute();
    let counts: (string | null)[];
    try {
      counts = await this.redis.mget(...PURPOSES.map((purpose) => this.countKey(minute, purpose)));
    } catch {
      const local = this.local.minute === minute ? this.local.counts : new Map();
      counts = PURPOSES.map((purpose) => String(local.get(purpose) ?? 0));
    }
    const used = Object.fromEntries(
      PURPOSES.map((purpose, i) => [purpose, Number(counts[i] ?? 0)]),
    ) as Record<UpstreamPurpose, number>;
    const total = Object.values(used).reduce((sum, n) => sum + n, 0);
    return {
      minute,
      used,
      remaining: Math.max(0, this.perMinute - total),
      perMinute: this.perMinute,
    };
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let next = this.next(); next; next = this.next()) {
        const wait = await this.reserve(next.purpose);
        if (wait > 0) {
          this.waitedMs += await this.sleepFor(wait, next.purpose);
          continue;
        }
        this.take(next).grant();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Waits `ms` for a slot for `purpose`, less if a higher purpose arrives; answers how long. */
  private sleepFor(ms: number, purpose: UpstreamPurpose): Promise<number> {
    const started = Date.now();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeping = null;
        resolve(Date.now() - started);
      };
      const timer = setTimeout(wake, ms);
      this.sleeping = { purpose, wake };
    });
  }

  /** The waiter a free slot goes to: the first of the highest purpose. */
  private next(): Waiter | undefined {
    for (const purpose of PURPOSES) {
      const first = this.waiting.get(purpose)?.[0];
      if (first) return first;
    }
    return undefined;
  }

  private take(waiter: Waiter): Waiter {
    this.waiting.get(waiter.purpose)?.shift();
    return waiter;
  }

  /**
   * Background work leaves part of the burst free, so that a call someone waits for (an action,
   * a lookup) finds a slot at once even while a backlog of it (callers to resolve after an
   * outage, rosters to read) takes the whole rate: resolution a quarter, reconciliation half.
   */
  private headroomMs(purpose: UpstreamPurpose): number {
    if (purpose === 'reconcile') return this.toleranceMs / 2;
    return purpose === 'resolve' ? this.toleranceMs / 4 : 0;
  }

  private async reserve(purpose: UpstreamPurpose): Promise<number> {
    const now = Date.now();
    const minute = currentMinute();
    try {
      const wait = await this.redis.eval(
        GCRA_LUA,
        2,
        this.redis.key('ratelimit', 'tencent'),
        this.countKey(minute, purpose),
        now,
        this.intervalMs,
        this.toleranceMs,
        this.headroomMs(purpose),
      );
      return Number(wait);
    } catch {
      return this.reserveLocally(now, purpose, minute);
    }
  }

  private reserveLocally(now: number, purpose: UpstreamPurpose, minute: string): number {
    const tat = Math.max(this.localTat, now);
    const wait = tat - (this.toleranceMs - this.headroomMs(purpose)) - now;
    if (wait > 0) return wait;
    this.localTat = tat + this.intervalMs;
    if (this.local.minute !== minute) this.local = { minute, counts: new Map() };
    this.local.counts.set(purpose, (this.local.counts.get(purpose) ?? 0) + 1);
    return 0;
  }

  private countKey(minute: string, purpose: UpstreamPurpose): string {
    return this.redis.key('budget', minute, purpose);
  }
}

/** The current minute, as the budget counts are keyed: e.g. "2026-12-03T08:15". */
function currentMinute(): string {
  return new Date().toISOString().slice(0, 16);
}
