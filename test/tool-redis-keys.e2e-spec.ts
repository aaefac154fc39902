import Redis from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { dropRedisKeys, runKeyPrefix } from '../tools/service-process';
import { testKeyPrefix } from './support/test-redis';

/**
 * The benchmarks and the simulator give the service they start Redis keys of its own and drop
 * them when the run ends (bench:scale alone writes the keys of 1,000 meetings).
 */
const redis = new Redis('redis://127.0.0.1:6379/0');

afterAll(() => redis.disconnect());

/** Writes keys that expire on their own, should a failing test leave them. */
async function write(keys: string[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.set(key, 'x', 'EX', 60);
  await pipeline.exec();
}

it("drops every key under a run's prefix, over several scan batches, and nothing beside them", async () => {
  // A tool named for this run's keys, so that nothing here can touch another run's.
  const tool = testKeyPrefix('tool').slice(0, -1);
  const prefix = runKeyPrefix(tool);
  const neighbour = runKeyPrefix(tool);
  expect(prefix).toMatch(new RegExp(`^${tool}:[0-9a-f]{6}:$`));
  expect(neighbour).not.toBe(prefix);
  const own = Array.from({ length: 2500 }, (_, i) => `${prefix}m:${i}:gen`);
  // Another run's key, and one that shares the prefix's text but not its last colon.
  const others = [`${neighbour}m:1:gen`, prefix.slice(0, -1)];
  await write([...own, ...others]);

  await dropRedisKeys(prefix);

  expect(await redis.exists(...own)).toBe(0);
  expect(await redis.exists(...others)).toBe(others.length);
  await redis.del(...others);
});
