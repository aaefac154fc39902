import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { prepareDatabase, quoteIdentifier } from '../../src/database/prepare-database';
import { dropRedisKeys } from '../../tools/service-process';
import { assertTestDatabase, databaseUrl, runPrefixFor, withServer } from './test-database';
import { testRunKeyPrefix } from './test-redis';

declare module 'vitest' {
  export interface ProvidedContext {
    testRunId: string;
  }
}

/**
 * Builds the template every spec file clones (our migrations, applied once per run) and drops
 * every database and Redis key of this run at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = randomBytes(3).toString('hex');
  project.provide('testRunId', runId);
  const url = databaseUrl(`${runPrefixFor(runId)}template`);
  await prepareDatabase(url);

  return async () => {
    await withServer(async (client) => {
      const { rows } = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
        [runPrefixFor(runId)],
      );
      for (const { datname } of rows) {
        assertTestDatabase(datname);
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(datname)} WITH (FORCE)`);
      }
    });
    await dropRedisKeys(testRunKeyPrefix(runId));
  };
}
