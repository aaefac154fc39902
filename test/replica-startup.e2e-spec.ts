import { afterAll, expect, it } from 'vitest';
import { startTestApp, testEnv, type TestApp } from './support/test-app';
import { createTestDatabase, dropTestDatabase } from './support/test-database';

const started: TestApp[] = [];
let databaseUrl: string | undefined;

afterAll(async () => {
  await Promise.all(started.map((t) => t.close()));
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

it('starts four replicas together on one fresh database', async () => {
  databaseUrl = await createTestDatabase();
  const env = testEnv(databaseUrl, { SCHEDULER_ENABLED: 'false' });
  // Each sets up the job queues at start-up; at once, they used to deadlock in Postgres.
  const results = await Promise.allSettled([1, 2, 3, 4].map(() => startTestApp(env)));
  for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
  expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
  const queues = await started[0].db.query<{ name: string }[]>(
    `SELECT name FROM pgboss.queue ORDER BY name`,
  );
  expect(queues.map((queue) => queue.name)).toEqual(['webhook-event', 'webhook-event-dead']);
});
