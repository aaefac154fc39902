import { afterAll, expect, it } from 'vitest';
import { startTestApp, testEnv, type TestApp } from './support/test-app';
import { dropTestDatabase, newTestDatabaseUrl } from './support/test-database';

const started: TestApp[] = [];
let databaseUrl: string | undefined;

afterAll(async () => {
  await Promise.all(started.map((t) => t.close()));
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

it('starts four replicas together on a database that does not exist yet', async () => {
  databaseUrl = newTestDatabaseUrl();
  const env = testEnv(databaseUrl, { SCHEDULER_ENABLED: 'false' });
  // Each creates the database when missing and applies the migrations under a lock.
  const results = await Promise.allSettled([1, 2, 3, 4].map(() => startTestApp(env)));
  for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
  expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
  const applied = await started[0].db.query<{ name: string }[]>(
    `SELECT name FROM typeorm_migrations ORDER BY id`,
  );
  expect(applied.map((migration) => migration.name)).toEqual(
    started[0].db.migrations.map((migration) => migration.name),
  );
});
