import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchingRedis } from './batching-redis';

describe('BatchingRedis', () => {
  const prefix = `test:batching:${randomBytes(4).toString('hex')}:`;
  let redis: BatchingRedis;

  beforeAll(async () => {
    redis = new BatchingRedis('redis://127.0.0.1:6379/0');
    await redis.ping();
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('holds the commands of one turn in the corked socket and sends them together', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `${prefix}${i}`);
    await redis.mset(keys.flatMap((key, i) => [key, `value-${i}`]));
    const replies = Promise.all(keys.map((key) => redis.get(key)));
    expect(redis.stream.writableCorked).toBe(1);
    expect(redis.stream.writableLength).toBeGreaterThan(100 * 'GET'.length);
    expect(await replies).toEqual(keys.map((_, i) => `value-${i}`));
    expect(redis.stream.writableCorked).toBe(0);
  });

  it('keeps the order of commands across turns and inside transactions', async () => {
    const key = `${prefix}counter`;
    const first = redis.incr(key);
    await new Promise((resolve) => setImmediate(resolve));
    const [second, exec] = await Promise.all([
      redis.incr(key),
      redis.multi().incr(key).get(key).exec(),
    ]);
    expect([await first, second, exec]).toEqual([
      1,
      2,
      [
        [null, 3],
        [null, '3'],
      ],
    ]);
  });
});
