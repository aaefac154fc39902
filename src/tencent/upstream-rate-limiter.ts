import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import { RedisClient } from '../redis/redis.module';

/**
 * GCRA (a token bucket kept as one timestamp): answers how many ms to wait before the next call
 * may go out, and books the call when the answer is 0. Same logic in Redis (shared by every
 * replica) and in memory (the fallback while Redis is unreachable). Redis turns a Lua number
 * into an integer by truncation, so a wait under 1 ms would come back as 0 without the call
 * being booked: the wait is rounded up.
 */
const GCRA_LUA = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return math.ceil(wait) end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tolerance + interval) + 1000)
return 0`;

@Injectable()
export class UpstreamRateLimiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private localTat = 0;
  /** Total time callers waited for the limiter. */
  private waitedMs = 0;

  constructor(
    env: Env,
    private readonly redis: RedisClient,
    metrics: Metrics,
  ) {
    this.intervalMs = 60_000 / env.TENCENT_RATE_LIMIT_PER_MINUTE;
    this.toleranceMs = this.intervalMs * (env.TENCENT_RATE_LIMIT_BURST - 1);
    metrics.gauge(
      'pstn_upstream_rate_limit_waited_seconds',
      'Total time upstream calls waited for the shared rate limit',
      () => this.waitedMs / 1000,
    );
  }

  /** Resolves when one upstream call may be made. */
  async acquire(): Promise<void> {
    for (;;) {
      const wait = await this.reserve();
      if (wait <= 0) return;
      this.waitedMs += wait;
      await sleep(wait);
    }
  }

  private async reserve(): Promise<number> {
    const now = Date.now();
    try {
      const wait = await this.redis.redis.eval(
        GCRA_LUA,
        1,
        this.redis.key('ratelimit', 'tencent'),
        now,
        this.intervalMs,
        this.toleranceMs,
      );
      return Number(wait);
    } catch {
      return this.reserveLocally(now);
    }
  }

  private reserveLocally(now: number): number {
    const tat = Math.max(this.localTat, now);
    const wait = tat - this.toleranceMs - now;
    if (wait > 0) return wait;
    this.localTat = tat + this.intervalMs;
    return 0;
  }
}
