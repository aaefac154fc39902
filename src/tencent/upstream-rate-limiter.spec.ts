import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import { RedisClient } from '../redis/redis.client';
import { UpstreamRateLimiter, type UpstreamPurpose } from './upstream-rate-limiter';

/**
 * One call a second with a burst of 9 (8 intervals of tolerance): reconciliation leaves 4 of
 * them free, resolution 2, so 5 reconcile calls or 7 resolve calls go out at once.
 */
describe('UpstreamRateLimiter', () => {
  let redis: RedisClient;
  let limiter: UpstreamRateLimiter;

  beforeEach(async () => {
    const env = Object.assign(new Env(), {
      REDIS_URL: 'redis://127.0.0.1:6379/0',
      REDIS_KEY_PREFIX: `test:limiter:${randomBytes(4).toString('hex')}:`,
      TENCENT_RATE_LIMIT_PER_MINUTE: 60,
      TENCENT_RATE_LIMIT_BURST: 9,
    });
    redis = new RedisClient(env);
    // Without an offline queue, commands sent before the connection is up fail.
    await new Promise((resolve) => redis.once('ready', resolve));
    limiter = new UpstreamRateLimiter(env, redis, new Metrics());
  });

  afterEach(async () => {
    const keys = await redis.keys(`${redis.key('')}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  /** Asks for `count` calls at once; answers how many were granted within 200 ms. */
  const grantedAtOnce = async (purpose: UpstreamPurpose, count: number) => {
    let granted = 0;
    const calls = Array.from({ length: count }, () =>
      limiter.acquire(purpose).then(() => {
        granted += 1;
      }),
    );
    await sleep(200);
    return { granted, calls };
  };

  it.each<[UpstreamPurpose, number]>([
    ['reconcile', 5],
    ['resolve', 7],
    ['lookup', 9],
  ])(
    'lets %s calls take the burst but what it leaves for others: %i at once',
    async (purpose, n) => {
      const { granted } = await grantedAtOnce(purpose, n + 1);
      expect(granted).toBe(n);
    },
  );

  it('grants a lookup at once while background calls wait for a slot', async () => {
    // Every call falls in one minute of the budget's counts.
    if (new Date().getSeconds() > 56) await sleep(5000);
    const { granted, calls } = await grantedAtOnce('reconcile', 6);
    expect(granted).toBe(5);
    // The pump waits about a second for the sixth reconcile slot; the lookup need not.
    const started = performance.now();
    await limiter.acquire('lookup');
    expect(performance.now() - started).toBeLessThan(100);
    await Promise.all(calls);
    expect((await limiter.budget()).used).toEqual({
      action: 0,
      lookup: 1,
      resolve: 0,
      reconcile: 6,
    });
  });
});
