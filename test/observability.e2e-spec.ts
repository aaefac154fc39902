import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientsService } from '../src/auth/api-clients.service';
import { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { deliver } from './support/deliver';
import { TcpProxy } from './support/tcp-proxy';
import {
  ADMIN_TOKEN,
  AES_KEY,
  AES_TOKEN,
  PLAIN_TOKEN,
  startTestApp,
  TENCENT_CREDENTIALS,
  testEnv,
  type TestApp,
} from './support/test-app';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { signedDelivery } from '../tools/webhook-delivery';
import { buildEvent } from './support/webhook-fixtures';

/** The numbers of the scenario, each in every spelling a leak could take. */
const NUMBERS = ['13812340001', '13812340002', '13812340003'];
const SPELLINGS = NUMBERS.flatMap((n) => [n, `86${n}`, `+86${n}`, `0086${n}`]);

describe('health, metrics and logs', () => {
  let databaseUrl: string;
  let fake: FakeTencentServer;
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let t: TestApp;
  let lookupToken: string;
  const logLines: string[] = [];
  const secretsSent: string[] = [];

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    fake = new FakeTencentServer(TENCENT_CREDENTIALS);
    pgProxy = await TcpProxy.start(5432);
    redisProxy = await TcpProxy.start(6379);
    t = await startTestApp(
      testEnv(databaseUrl.replace(':5432/', `:${pgProxy.port}/`), {
        TENCENT_API_BASE_URL: await fake.start(),
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/0`,
        LOG_LEVEL: 'debug',
      }),
      { logDestination: { write: (line: string) => logLines.push(line) } },
    );
    lookupToken = (await t.app.get(ApiClientsService).create('meeting-control', ['lookup'])).token;
  });

  afterAll(async () => {
    await t.close();
    await Promise.all([pgProxy.close(), redisProxy.close(), fake.close()]);
    await dropTestDatabase(databaseUrl);
  });

  const http = () => request(t.app.getHttpServer());
  const lookupAuth = () => ({ authorization: `Bearer ${lookupToken}` });
  const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const meetingId = String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));

  /** Delivers one event and remembers what a leak of the delivery would look like. */
  async function deliverRemembered(plaintext: string): Promise<void> {
    await deliver(t, plaintext);
    const sent = signedDelivery(AES_TOKEN, plaintext, AES_KEY);
    secretsSent.push(sent.data);
  }

  it('plays a full scenario: webhooks, resolution, lookups, admin views, bad input', async () => {
    await deliverRemembered(buildEvent('meeting.started', { meetingId }));
    await expect
      .poll(
        async () =>
          (await t.db.query(`SELECT 1 FROM meetings WHERE meeting_id = $1`, [meetingId])).length,
      )
      .toBe(1);
    const put = await http()
      .put(`/v1/meetings/${meetingId}/tracked-numbers`)
      .set(lookupAuth())
      .send({ phone_numbers: NUMBERS.map((n) => ({ area: 86, phone_number: n })) });
    expect(put.status).toBe(200);
    for (const [index, number] of NUMBERS.entries()) {
      fake.connect(meetingId, 86, number, `caller-${index}`);
      await deliverRemembered(
        buildEvent('meeting.participant-joined', {
          meetingId,
          msOpenId: `caller-${index}`,
          pstnNumber: `+86${number}`,
        }),
      );
    }
    const lookup = () =>
      http()
        .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
        .set(lookupAuth())
        .send({ phone_numbers: NUMBERS.map((n) => ({ area: 86, phone_number: n })) });
    await expect
      .poll(async () => (await lookup()).body.ms_open_id_list?.length, { timeout: 5000 })
      .toBe(3);
    // Once every join is applied (an applied join clears the meeting's cache), the first lookup
    // fills the cache and the second is answered from it.
    await expect
      .poll(
        async () =>
          (
            await t.db.query<{ n: string }[]>(
              `SELECT count(*) AS n FROM webhook_events WHERE meeting_id = $1 AND status = 'processed'`,
              [meetingId],
            )
          )[0].n,
      )
      .toBe(String(1 + NUMBERS.length));
    for (let i = 0; i < 2; i++) expect((await lookup()).status).toBe(200);
    const reverse = await http()
      .get(`/v1/meetings/${meetingId}/pstn-participants/caller-0`)
      .set(lookupAuth());
    expect(reverse.status).toBe(200);
    const revealed = await http().get(`/admin/meetings/${meetingId}?reveal=true`).set(adminAuth);
    expect(revealed.status).toBe(200);

    // Bad input: a forged signature, a wrong admin token, an invalid number.
    const forged = signedDelivery(PLAIN_TOKEN, buildEvent('meeting.end', { meetingId }));
    const bad = await http()
      .post('/webhooks/tencent-meeting')
      .set({ ...forged.headers, signature: 'f'.repeat(40) })
      .send({ data: forged.data });
    expect(bad.status).toBe(401);
    expect(
      (await http().get('/admin/stats').set({ authorization: 'Bearer not-a-real-token' })).status,
    ).toBe(401);
    expect(
      (
        await http()
          .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
          .set(lookupAuth())
          .send({ phone_numbers: [{ area: 86, phone_number: '138-1234-0001' }] })
      ).status,
    ).toBe(400);
    await deliverRemembered(buildEvent('meeting.end', { meetingId }));
    await expect
      .poll(
        async () =>
          (
            await t.db.query<{ status: string }[]>(
              `SELECT status FROM meetings WHERE meeting_id = $1`,
              [meetingId],
            )
          )[0].status,
      )
      .toBe('ended');
  });

  it('exposes Prometheus metrics of what happened', async () => {
    const scrape = async () => {
      const res = await http().get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toContain('text/plain');
      return res.text;
    };
    /** The sum of a metric's samples whose labels include every pair of `labels`. */
    const metric = (text: string, name: string, labels: Record<string, string> = {}) => {
      let sum = 0;
      let found = false;
      for (const line of text.split('\n')) {
        const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const has = Object.entries(labels).every(([k, v]) =>
          (match[2] ?? '').includes(`${k}="${v}"`),
        );
        if (!has) continue;
        found = true;
        sum += Number(match[3]);
      }
      return found ? sum : NaN;
    };
    const text = await scrape();
    expect(
      metric(text, 'pstn_webhooks_total', {
        event: 'meeting.participant-joined',
        outcome: 'stored',
      }),
    ).toBe(3);
    expect(
      metric(text, 'pstn_webhooks_total', { event: 'unknown', outcome: 'invalid_signature' }),
    ).toBe(1);
    const answered = fake.requests.filter(
      (r) => r.path.endsWith('/phone/ms-open-id') && r.status === 200,
    ).length;
    expect(answered).toBeGreaterThan(0);
    expect(
      metric(text, 'pstn_upstream_calls_total', { endpoint: 'ms-open-id', outcome: 'ok' }),
    ).toBe(answered);
    expect(
      metric(text, 'pstn_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/webhooks/tencent-meeting',
        status: '200',
      }),
    ).toBe(5);
    expect(metric(text, 'pstn_queue_depth')).toBe(0);
    expect(metric(text, 'pstn_queue_dead_events')).toBe(0);
    expect(metric(text, 'pstn_upstream_circuit_state')).toBe(0);
    expect(metric(text, 'pstn_sse_subscribers')).toBe(0);
    expect(metric(text, 'pstn_upstream_rate_limit_waited_seconds')).toBe(0);
    expect(metric(text, 'pstn_event_processing_failures_total')).toBe(0);
    expect(metric(text, 'pstn_process_resident_memory_bytes')).toBeGreaterThan(10_000_000);

    // Two more lookups of the three numbers (the meeting's end cleared its cache): the first
    // misses and fills the cache, the second is answered from it.
    const lookupRoute = {
      method: 'POST',
      route: '/v1/meetings/:meetingId/phone/ms-open-id',
      status: '200',
    };
    const lookups = metric(text, 'pstn_http_request_duration_seconds_count', lookupRoute);
    const hits = metric(text, 'pstn_cache_lookups_total', { result: 'hit' });
    const misses = metric(text, 'pstn_cache_lookups_total', { result: 'miss' });
    for (let i = 0; i < 2; i += 1) {
      const again = await http()
        .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
        .set(lookupAuth())
        .send({ phone_numbers: NUMBERS.map((n) => ({ area: 86, phone_number: n })) });
      expect(again.body.ms_open_id_list).toHaveLength(3);
    }
    const after = await scrape();
    expect(metric(after, 'pstn_http_request_duration_seconds_count', lookupRoute)).toBe(
      lookups + 2,
    );
    expect(metric(after, 'pstn_cache_lookups_total', { result: 'miss' }) - misses).toBe(3);
    expect(metric(after, 'pstn_cache_lookups_total', { result: 'hit' }) - hits).toBe(3);

    // A refused request is timed under its route's pattern, one no route matched as `unmatched`:
    // never under its path.
    const refused = { ...lookupRoute, status: '401' };
    const unmatched = { method: 'GET', route: 'unmatched', status: '404' };
    const count = (text: string, labels: Record<string, string>) =>
      metric(text, 'pstn_http_request_duration_seconds_count', labels) || 0;
    const refusedBefore = count(after, refused);
    const unmatchedBefore = count(after, unmatched);
    await http()
      .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
      .send({ phone_numbers: [{ area: 86, phone_number: 13912345678 }] })
      .expect(401);
    await http().get('/no-such-route/13912345678').expect(404);
    const last = await scrape();
    expect(count(last, refused)).toBe(refusedBefore + 1);
    expect(count(last, unmatched)).toBe(unmatchedBefore + 1);
    expect(last).not.toContain('13912345678');
  });

  describe('health', () => {
    it('is live without checking dependencies, and ready with Postgres and Redis', async () => {
      const version = (
        JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string }
      ).version;
      expect((await http().get('/health/live')).body).toEqual({ status: 'ok', version });
      expect((await http().get('/docs-json')).body.info.version).toBe(version);
      const ready = await http().get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        version,
        status: 'ok',
        info: { postgres: { status: 'up' }, redis: { status: 'up' } },
      });
    });

    it('stays ready but degraded without Redis', async () => {
      const port = redisProxy.port;
      await redisProxy.close();
      try {
        const ready = await http().get('/health/ready');
        expect(ready.status).toBe(200);
        expect(ready.body.status).toBe('degraded');
        expect(ready.body.details.redis.status).toBe('degraded');
      } finally {
        redisProxy = await TcpProxy.start(6379, port);
      }
    });

    it('is not ready without Postgres, and answers within the check timeout', async () => {
      const port = pgProxy.port;
      await pgProxy.close();
      try {
        const started = Date.now();
        const ready = await http().get('/health/ready');
        expect(ready.status).toBe(503);
        expect(ready.body.details.postgres.status).toBe('down');
        expect(Date.now() - started).toBeLessThan(5000);
        expect((await http().get('/health/live')).status).toBe(200);
      } finally {
        pgProxy = await TcpProxy.start(5432, port);
      }
      await expect
        .poll(async () => (await http().get('/health/ready')).status, { timeout: 10_000 })
        .toBe(200);
    });
  });

  it('logged JSON lines with request ids, and no phone number or secret', () => {
    const text = logLines.join('');
    const lines = logLines.flatMap((chunk) => chunk.split('\n')).filter(Boolean);
    expect(lines.length).toBeGreaterThan(20);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);

    for (const leak of [
      ...SPELLINGS,
      ADMIN_TOKEN,
      lookupToken,
      PLAIN_TOKEN,
      AES_TOKEN,
      AES_KEY,
      TENCENT_CREDENTIALS.secretKey,
      'f'.repeat(40),
      ...secretsSent.map((data) => data.slice(0, 40)),
    ]) {
      expect(text, `log leaked ${leak.slice(0, 6)}...`).not.toContain(leak);
    }
    const requests = entries.filter((entry) => entry.msg === 'request');
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.every((entry) => typeof entry.reqId === 'string')).toBe(true);
    // A line written inside a request (the reveal) carries that request's id.
    const reveal = entries.find((entry) => String(entry.msg).includes('revealed'));
    expect(reveal?.msg).toContain('ADMIN_TOKEN');
    expect(requests.map((entry) => entry.reqId)).toContain(reveal?.reqId);
  });
});
