import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/**
 * Every Redis key a test run writes is under `test:<run>:` (the run's id is chosen by the global
 * setup), which drops them all when the run ends: runs in parallel never touch each other's.
 */
export function testRunKeyPrefix(runId: string): string {
  return `test:${runId}:`;
}

/**
 * A REDIS_KEY_PREFIX of this run: one instance's own by default, or a name that the instances
 * playing replicas of one deployment (or one instance restarted) share.
 */
export function testKeyPrefix(name: string = randomBytes(4).toString('hex')): string {
  return `${testRunKeyPrefix(inject('testRunId'))}${name}:`;
}
