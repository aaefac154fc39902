import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../tools/service-process';
import { FakeTencentServer } from '../../tools/fake-tencent/fake-tencent-server';
import { AES_KEY, AES_TOKEN, TENCENT_CREDENTIALS, testSettings } from '../support/test-app';
import { compileProject, startCompiled } from '../support/compiled-build';
import { createTestDatabase, dropTestDatabase } from '../support/test-database';
import { signedDelivery } from '../../tools/webhook-delivery';
import { inParallel, joinEvents, traceIds } from './scenario';
import { testKeyPrefix } from '../support/test-redis';

/** The service compiled on its own, so other builds in the repository cannot disturb it. */
let outDir: string;
let databaseUrl: string;
let fake: FakeTencentServer;
let db: Client;
let port: number;
let service: ChildProcess | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  outDir = compileProject();
  databaseUrl = await createTestDatabase();
  db = new Client({ connectionString: databaseUrl });
  await db.connect();
  fake = new FakeTencentServer(TENCENT_CREDENTIALS);
  const tencent = await fake.start();
  port = await freePort();
  env = testSettings(databaseUrl, {
    PORT: String(port),
    REDIS_KEY_PREFIX: testKeyPrefix(`sigkill:${port}`),
    LOG_LEVEL: 'warn',
    TENCENT_API_BASE_URL: tencent,
    SCHEDULER_ENABLED: 'false',
  });
}, 120_000);

afterAll(async () => {
  service?.kill('SIGKILL');
  await db?.end();
  await fake?.close();
  await dropTestDatabase(databaseUrl);
  rmSync(outDir, { recursive: true, force: true });
});

/** Starts the compiled service and waits until it is ready. */
const startService = () =>
  startCompiled(outDir, 'src/main.js', env, `http://127.0.0.1:${port}/health/ready`);

const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0].n);

/** Posts events as Tencent would; answers the indexes that were acknowledged. */
async function deliverAll(events: string[]): Promise<number[]> {
  const acknowledged: number[] = [];
  await inParallel(events, 16, async (event, index) => {
    const sent = signedDelivery(AES_TOKEN, event, AES_KEY);
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/tencent-meeting`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sent.headers },
      body: JSON.stringify({ data: sent.data }),
    });
    if (res.status === 200) acknowledged.push(index);
  });
  return acknowledged;
}

it('applies every stored event exactly once after the service is killed mid-processing', async () => {
  service = await startService();
  const events = joinEvents(10, 60, 9_500_000_000);
  const half = events.length / 2;
  expect(await deliverAll(events.slice(0, half))).toHaveLength(half);
  await expect.poll(() => count(`SELECT count(*) AS n FROM pstn_events`)).toBeGreaterThan(0);

  // Hold the worker inside its transaction: it is applying events when the process dies.
  const blocker = new Client({ connectionString: databaseUrl });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE pstn_participants IN SHARE ROW EXCLUSIVE MODE');
  expect(await deliverAll(events.slice(half))).toHaveLength(events.length - half);
  await expect
    .poll(() =>
      count(
        `SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND relation = 'pstn_participants'::regclass`,
      ),
    )
    .toBeGreaterThan(0);
  service.kill('SIGKILL');
  await new Promise((resolve) => service?.once('exit', resolve));
  await blocker.query('ROLLBACK');
  await blocker.end();

  const processedAtKill = await count(
    `SELECT count(*) AS n FROM webhook_events WHERE status = 'processed'`,
  );
  expect(processedAtKill).toBeLessThan(events.length);
  // Every acknowledged delivery was stored.
  const stored = (await db.query<{ trace_id: string }>(`SELECT trace_id FROM webhook_events`)).rows;
  expect(stored.map((row) => row.trace_id).sort()).toEqual(traceIds(events).sort());

  // After a restart every event is applied, once.
  service = await startService();
  await expect
    .poll(() => count(`SELECT count(*) AS n FROM webhook_events WHERE status = 'processed'`), {
      timeout: 60_000,
      interval: 500,
    })
    .toBe(events.length);
  const perEvent = await db.query<{ per_event: string; n: string }>(
    `SELECT per_event, count(*) AS n FROM
       (SELECT w.id, count(p.id) AS per_event FROM webhook_events w
          LEFT JOIN pstn_events p ON p.webhook_event_id = w.id GROUP BY w.id) counted
      GROUP BY per_event`,
  );
  expect(perEvent.rows).toEqual([{ per_event: '1', n: String(events.length) }]);
  expect(await count(`SELECT count(*) AS n FROM pstn_participants`)).toBe(events.length);
});
