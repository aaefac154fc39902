import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AES_KEY, AES_TOKEN, startTestApp, testEnv, type TestApp } from '../support/test-app';
import { createTestDatabase, dropTestDatabase } from '../support/test-database';
import { signedDelivery } from '../../tools/webhook-delivery';
import { inParallel, joinEvents, processedEvents, traceIds } from './scenario';
import { ensureServices, stopPostgres } from './services';

let databaseUrl: string;
let t: TestApp;

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  t = await startTestApp(
    testEnv(databaseUrl, {
      SCHEDULER_ENABLED: 'false',
      // A job whose worker lost Postgres mid-run is taken for lost and run again after 5 s.
      QUEUE_JOB_TIMEOUT_SECONDS: '5',
      QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    }),
  );
});

afterAll(async () => {
  ensureServices();
  await t?.close();
  await dropTestDatabase(databaseUrl);
});

const post = (plaintext: string) => {
  const sent = signedDelivery(AES_TOKEN, plaintext, AES_KEY);
  return request(t.app.getHttpServer())
    .post('/webhooks/tencent-meeting')
    .set(sent.headers)
    .send({ data: sent.data });
};

it('loses and duplicates nothing when Postgres restarts during a stream of webhooks', async () => {
  const events = joinEvents(10, 40, 9_300_000_000);
  const outcomes: { status: number; ms: number }[] = [];
  let restarted: Promise<void> | undefined;
  await inParallel(events, 8, async (event, index) => {
    if (index === 120) {
      stopPostgres();
      restarted = new Promise((resolve) => setTimeout(() => resolve(ensureServices()), 3_000));
    }
    const started = Date.now();
    const res = await post(event);
    outcomes[index] = { status: res.status, ms: Date.now() - started };
  });
  await restarted;

  // During the outage deliveries failed fast, and never with a 2xx.
  const failed = outcomes.filter((o) => o.status !== 200);
  expect(failed.length).toBeGreaterThan(0);
  expect(new Set(failed.map((o) => o.status))).toEqual(new Set([503]));
  expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(2_500);

  // Tencent redelivers what was not acknowledged.
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.status === 200) continue;
    await expect
      .poll(async () => (await post(events[index])).status, { timeout: 20_000 })
      .toBe(200);
  }

  // Exactly the events sent are stored, each applied once.
  await expect.poll(() => processedEvents(t.db), { timeout: 60_000 }).toBe(String(events.length));
  const stored = await t.db.query<{ trace_id: string }[]>(`SELECT trace_id FROM webhook_events`);
  expect(stored.map((row) => row.trace_id).sort()).toEqual(traceIds(events).sort());
  const applied = await t.db.query<{ per_event: string; n: string }[]>(
    `SELECT per_event, count(*) AS n FROM
       (SELECT w.id, count(p.id) AS per_event FROM webhook_events w
          LEFT JOIN pstn_events p ON p.webhook_event_id = w.id GROUP BY w.id) counted
      GROUP BY per_event`,
  );
  expect(applied).toEqual([{ per_event: '1', n: String(events.length) }]);
  const callers = await t.db.query<{ n: string }[]>(
    `SELECT count(*) AS n FROM pstn_participants WHERE status = 'connected'`,
  );
  expect(callers[0].n).toBe(String(events.length));
});
