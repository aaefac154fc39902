import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientsService } from '../src/auth/api-clients.service';
import type { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { deliver } from './support/deliver';
import { ADMIN_TOKEN, type TestApp } from './support/test-app';
import { startTestStack, type TestStack } from './support/test-stack';
import { buildEvent } from './support/webhook-fixtures';

/** Every admin route, with a request shape that would pass validation. */
const ADMIN_ROUTES: [method: 'get' | 'post' | 'delete', path: string][] = [
  ['get', '/admin/meetings'],
  ['get', '/admin/meetings/1'],
  ['post', '/admin/meetings/1/resolve'],
  ['post', '/admin/meetings/1/reconcile'],
  ['get', '/admin/webhook-events'],
  ['get', '/admin/webhook-events/1'],
  ['post', '/admin/webhook-events/1/replay'],
  ['post', '/admin/webhook-events/replay-failed'],
  ['get', '/admin/jobs'],
  ['post', '/admin/jobs/1/retry'],
  ['post', '/admin/jobs/retry-all'],
  ['get', '/admin/cache/meetings/1'],
  ['delete', '/admin/cache/meetings/1'],
  ['post', '/admin/cache/meetings/1/rebuild'],
  ['get', '/admin/api-clients'],
  ['post', '/admin/api-clients'],
  ['delete', `/admin/api-clients/${randomUUID()}`],
  ['get', '/admin/stats'],
  ['get', '/admin/control-actions'],
];

describe('admin API', () => {
  let stack: TestStack;
  let fake: FakeTencentServer;
  let t: TestApp;
  let lookupToken: string;

  beforeAll(async () => {
    stack = await startTestStack({ TENCENT_TIMEOUT_MS: '500' });
    ({ fake, t } = stack);
    lookupToken = (await t.app.get(ApiClientsService).create('meeting-control', ['lookup'])).token;
  });

  afterAll(async () => {
    expect(fake.badSignatureCount).toBe(0);
    await stack.close();
  });

  const admin = () => ({ authorization: `Bearer ${ADMIN_TOKEN}` });
  const http = () => request(t.app.getHttpServer());
  const get = (path: string) => http().get(path).set(admin());
  const post = (path: string) => http().post(path).set(admin());
  const newMeeting = () => String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));
  const rows = <T>(sql: string, params: unknown[] = []) => t.db.query<T[]>(sql, params);
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await rows<{ n: string }>(sql, params))[0].n);
  const processed = (meetingId: string) =>
    count(
      `SELECT count(*) AS n FROM webhook_events WHERE meeting_id = $1 AND status <> 'received'`,
      [meetingId],
    );
  const track = (meetingId: string, phoneNumber: string) =>
    t.db.query(
      `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source) VALUES ($1, '86', $2, 'api')`,
      [meetingId, phoneNumber],
    );

  /** A started meeting whose phone caller joined and was resolved through the fake Tencent. */
  async function meetingWithCaller(phoneNumber: string, msOpenId: string): Promise<string> {
    const meetingId = newMeeting();
    await deliver(t, buildEvent('meeting.started', { meetingId }));
    await expect.poll(() => processed(meetingId)).toBe(1);
    await track(meetingId, phoneNumber);
    fake.connect(meetingId, 86, phoneNumber, msOpenId);
    await deliver(
      t,
      buildEvent('meeting.participant-joined', {
        meetingId,
        msOpenId,
        pstnNumber: `+86${phoneNumber}`,
      }),
    );
    await expect
      .poll(() =>
        count(`SELECT count(*) AS n FROM ms_open_id_mappings WHERE meeting_id = $1`, [meetingId]),
      )
      .toBe(1);
    return meetingId;
  }

  /** An event the worker claims and fails to apply (it has no event name). */
  async function brokenEvent(meetingId: string): Promise<string> {
    const [row] = await rows<{ id: string }>(
      `INSERT INTO webhook_events (dedupe_key, event, meeting_id, payload)
       VALUES ($1, 'meeting.started', $2, $3) RETURNING id`,
      [randomUUID(), meetingId, JSON.stringify({ payload: [] })],
    );
    return row.id;
  }

  it('publishes every admin route in the OpenAPI document', async () => {
    const paths = Object.keys((await http().get('/docs-json')).body.paths as object);
    const openApi = (path: string) =>
      path.replace(/\/\d+(?=\/|$)/g, '/{meetingId}').replace(/[0-9a-f-]{36}/, '{id}');
    for (const [, path] of ADMIN_ROUTES) {
      const documented =
        path.startsWith('/admin/webhook-events/1') || path.startsWith('/admin/jobs/1')
          ? path.replace('/1', '/{id}')
          : openApi(path);
      expect(paths, path).toContain(documented);
    }
    expect(paths).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics']));
  });

  describe('authorization', () => {
    it.each(ADMIN_ROUTES)(
      '%s %s answers 401 without a token and 403 with a lookup token',
      async (method, path) => {
        const call = () => http()[method](path);
        const anonymous = await call();
        expect(anonymous.status).toBe(401);
        expect(anonymous.body.error.code).toBe('unauthorized');
        const lookup = await call().set({ authorization: `Bearer ${lookupToken}` });
        expect(lookup.status).toBe(403);
        expect(lookup.body.error.message).toContain('admin');
      },
    );
  });

  describe('meetings', () => {
    it('lists meetings newest first, with paging and filters', async () => {
      const before = new Date().toISOString();
      const started = [newMeeting(), newMeeting(), newMeeting()];
      for (const meetingId of started) {
        await deliver(t, buildEvent('meeting.started', { meetingId }));
        await expect.poll(() => processed(meetingId)).toBe(1);
      }
      const ended = newMeeting();
      await deliver(t, buildEvent('meeting.end', { meetingId: ended }));
      await expect.poll(() => processed(ended)).toBe(1);

      const first = await get(`/admin/meetings?status=started&from=${before}&page_size=2`);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ page: 1, page_size: 2, total: 3 });
      const second = await get(`/admin/meetings?status=started&from=${before}&page_size=2&page=2`);
      const listed = [...first.body.items, ...second.body.items].map(
        (m: { meeting_id: string }) => m.meeting_id,
      );
      expect(listed).toEqual([...started].reverse());

      const endedOnly = await get(`/admin/meetings?status=ended&from=${before}`);
      expect(endedOnly.body.items.map((m: { meeting_id: string }) => m.meeting_id)).toEqual([
        ended,
      ]);
      const future = await get(
        `/admin/meetings?from=${new Date(Date.now() + 60_000).toISOString()}`,
      );
      expect(future.body).toMatchObject({ items: [], total: 0 });
    });

    it('refuses bad paging and filters with 400 naming the field', async () => {
      for (const [query, field] of [
        ['page_size=501', 'page_size'],
        ['page=0', 'page'],
        ['status=open', 'status'],
        ['from=yesterday', 'from'],
        ['colour=red', 'colour'],
      ]) {
        const res = await get(`/admin/meetings?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.body.error.message, query).toContain(field);
      }
    });

    it('shows one meeting in full with numbers masked, and in full on reveal', async () => {
      const meetingId = await meetingWithCaller('13812345678', 'caller-detail');
      const masked = await get(`/admin/meetings/${meetingId}`);
      expect(masked.status).toBe(200);
      expect(masked.body).toMatchObject({
        meeting_id: meetingId,
        status: 'started',
        connected_callers: 1,
        mapped_ids: 1,
        phone_callers: [
          {
            ms_open_id: 'caller-detail',
            status: 'connected',
            number: '+86 138****5678',
            pstn_number: '+86 138****5678',
          },
        ],
        tracked_numbers: [{ number: '+86 138****5678', source: 'api' }],
        mappings: [{ ms_open_id: 'caller-detail', number: '+86 138****5678' }],
      });
      expect(masked.body.recent_events).toHaveLength(1);
      expect(masked.body.resolution_attempts[0]).toMatchObject({ outcome: 'ok', ids_returned: 1 });
      expect(JSON.stringify(masked.body)).not.toContain('13812345678');

      const revealed = await get(`/admin/meetings/${meetingId}?reveal=true`);
      expect(revealed.body.mappings[0].number).toBe('+86 13812345678');
      expect(revealed.body.phone_callers[0].pstn_number).toBe('+8613812345678');
    });

    it('masks numbers in free text by value: subjects and errors, in lists and details', async () => {
      const meetingId = newMeeting();
      await deliver(
        t,
        buildEvent('meeting.started', { meetingId }).replace('weekly sync', 'dial 13812345678'),
      );
      await expect.poll(() => processed(meetingId)).toBe(1);
      const listed = await get(
        `/admin/meetings?from=${new Date(Date.now() - 60_000).toISOString()}`,
      );
      const item = (listed.body.items as { meeting_id: string; subject: string }[]).find(
        (meeting) => meeting.meeting_id === meetingId,
      );
      expect(item?.subject).toBe('dial 138****5678');
      expect((await get(`/admin/meetings/${meetingId}`)).body.subject).toBe('dial 138****5678');
      expect((await get(`/admin/meetings/${meetingId}?reveal=true`)).body.subject).toBe(
        'dial 13812345678',
      );

      const id = await brokenEvent(meetingId);
      await expect.poll(() => processed(meetingId)).toBe(2);
      await t.db.query(
        `UPDATE webhook_events SET status = 'dead', last_error = 'refused 13812345678' WHERE id = $1`,
        [id],
      );
      const errors = [
        (await get(`/admin/webhook-events?meeting_id=${meetingId}&status=dead`)).body.items[0]
          .last_error,
        (await get(`/admin/webhook-events/${id}`)).body.last_error,
        (
          (await get('/admin/jobs?state=dead&page_size=500')).body.items as {
            id: string;
            error: string;
          }[]
        ).find((job) => job.id === id)?.error,
      ];
      expect(errors).toEqual(['refused 138****5678', 'refused 138****5678', 'refused 138****5678']);
    });

    it('answers 404 for an unknown meeting and 400 for a malformed id', async () => {
      const unknown = await get(`/admin/meetings/${newMeeting()}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('meeting_not_found');
      expect((await get('/admin/meetings/abc')).status).toBe(400);
      expect((await post(`/admin/meetings/${newMeeting()}/resolve`)).status).toBe(404);
    });

    it('re-resolves a meeting on request', async () => {
      const meetingId = newMeeting();
      await deliver(t, buildEvent('meeting.started', { meetingId }));
      await expect.poll(() => processed(meetingId)).toBe(1);
      await track(meetingId, '13900000009');
      // Connected long ago: past the resolve horizon, so no automatic follow-up runs.
      await deliver(
        t,
        buildEvent('meeting.participant-joined', {
          meetingId,
          msOpenId: 'late-caller',
          operateTime: Date.now() - 3_600_000,
        }),
      );
      await expect.poll(() => fake.callsFor(meetingId)).toBe(1);
      fake.connect(meetingId, 86, '13900000009', 'late-caller');

      const res = await post(`/admin/meetings/${meetingId}/resolve`);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ meeting_id: meetingId });
      await expect
        .poll(() =>
          rows(`SELECT ms_open_id FROM ms_open_id_mappings WHERE meeting_id = $1`, [meetingId]),
        )
        .toEqual([{ ms_open_id: 'late-caller' }]);
      expect(fake.callsFor(meetingId)).toBe(2);
    });
  });

  describe('webhook events', () => {
    it('lists events with filters, and shows one decoded with numbers masked', async () => {
      const meetingId = await meetingWithCaller('13712345678', 'caller-events');
      const list = await get(
        `/admin/webhook-events?meeting_id=${meetingId}&event=meeting.participant-joined&status=processed`,
      );
      expect(list.status).toBe(200);
      expect(list.body.total).toBe(1);
      const [item] = list.body.items as { id: string; event: string; payload?: unknown }[];
      expect(item).toMatchObject({ event: 'meeting.participant-joined', meeting_id: meetingId });
      expect(item.payload).toBeUndefined();

      const one = await get(`/admin/webhook-events/${item.id}`);
      expect(one.status).toBe(200);
      expect(one.body.payload.payload[0].operator.pstn_number).toBe('+86 137****5678');
      expect(JSON.stringify(one.body)).not.toContain('13712345678');
      const revealed = await get(`/admin/webhook-events/${item.id}?reveal=true`);
      expect(revealed.body.payload.payload[0].operator.pstn_number).toBe('+8613712345678');

      const all = await get(`/admin/webhook-events?meeting_id=${meetingId}&page_size=1&page=2`);
      expect(all.body).toMatchObject({ page: 2, page_size: 1, total: 2 });
      expect(all.body.items[0].event).toBe('meeting.started');

      expect((await get('/admin/webhook-events/999999999')).status).toBe(404);
      expect((await get('/admin/webhook-events/abc')).status).toBe(400);
    });

    it('replays an event idempotently', async () => {
      const meetingId = await meetingWithCaller('13612345678', 'caller-replay');
      const snapshot = () =>
        Promise.all([
          rows(`SELECT * FROM pstn_events WHERE meeting_id = $1 ORDER BY id`, [meetingId]),
          rows(`SELECT * FROM pstn_participants WHERE meeting_id = $1`, [meetingId]),
          rows(`SELECT * FROM ms_open_id_mappings WHERE meeting_id = $1`, [meetingId]),
        ]);
      const [{ id, attempts }] = await rows<{ id: string; attempts: number }>(
        `SELECT id, attempts FROM webhook_events
          WHERE meeting_id = $1 AND event = 'meeting.participant-joined'`,
        [meetingId],
      );
      const before = await snapshot();
      const attemptsNow = async () =>
        (
          await rows<{ attempts: number }>(`SELECT attempts FROM webhook_events WHERE id = $1`, [
            id,
          ])
        )[0].attempts;
      // Processing runs twice more (each replay waits for the one before: a replay of an event
      // still waiting for the worker is the same run), and changes nothing it had done.
      for (let i = 1; i <= 2; i++) {
        const res = await post(`/admin/webhook-events/${id}/replay`);
        expect(res.status).toBe(202);
        expect(res.body).toEqual({ id, replayed: true });
        await expect.poll(attemptsNow).toBe(attempts + i);
      }
      expect(await snapshot()).toEqual(before);
      expect((await post('/admin/webhook-events/999999999/replay')).status).toBe(404);
    });

    it('replays every failed event', async () => {
      const meetingId = newMeeting();
      const id = await brokenEvent(meetingId);
      await expect
        .poll(
          async () =>
            (
              await rows<{ status: string }>(`SELECT status FROM webhook_events WHERE id = $1`, [
                id,
              ])
            )[0].status,
        )
        .toBe('failed');
      const failed = await get(`/admin/webhook-events?status=failed&meeting_id=${meetingId}`);
      expect(failed.body.items[0]).toMatchObject({ id, status: 'failed' });
      expect(failed.body.items[0].last_error).toContain('event');

      // The operator repairs the payload, then replays what failed.
      await t.db.query(`UPDATE webhook_events SET payload = $2 WHERE id = $1`, [
        id,
        buildEvent('meeting.started', { meetingId }),
      ]);
      const res = await post('/admin/webhook-events/replay-failed');
      expect(res.status).toBe(202);
      expect(res.body.replayed).toBeGreaterThanOrEqual(1);
      await expect
        .poll(() => rows(`SELECT status FROM meetings WHERE meeting_id = $1`, [meetingId]))
        .toEqual([{ status: 'started' }]);
    });
  });

  describe('jobs', () => {
    it('lists failed and dead jobs with their errors, and retries one and all', async () => {
      const meetingId = newMeeting();
      const id = await brokenEvent(meetingId);
      const listed = async (state: string) =>
        (await get(`/admin/jobs?state=${state}&page_size=500`)).body.items.filter(
          (job: { id: string }) => job.id === id || job.id === deadId,
        );
      let deadId = '';
      await expect.poll(() => listed('failed'), { timeout: 5000 }).toHaveLength(1);
      const [failedJob] = await listed('failed');
      expect(failedJob).toMatchObject({
        id,
        state: 'failed',
        event: 'meeting.started',
        meeting_id: meetingId,
        attempts: 1,
        error: 'decoded event has no "event" name',
      });
      expect(Date.parse(failedJob.next_attempt_at as string)).toBeGreaterThan(Date.now() - 1000);
      // Holds off the automatic retry, so only the operator's retry runs it.
      await t.db.query(
        `UPDATE webhook_events SET run_after = now() + interval '1 hour' WHERE id = $1`,
        [id],
      );
      // Another one, out of attempts.
      deadId = await brokenEvent(newMeeting());
      await expect.poll(() => listed('failed'), { timeout: 5000 }).toHaveLength(2);
      await t.db.query(`UPDATE webhook_events SET status = 'dead' WHERE id = $1`, [deadId]);
      expect((await listed('dead')).map((job: { id: string }) => job.id)).toEqual([deadId]);

      await t.db.query(`UPDATE webhook_events SET payload = $2 WHERE id = $1`, [
        id,
        buildEvent('meeting.started', { meetingId }),
      ]);
      const retried = await post(`/admin/jobs/${id}/retry`);
      expect(retried.status).toBe(202);
      expect(retried.body).toEqual({ id, retried: true });
      await expect
        .poll(() => rows(`SELECT status FROM meetings WHERE meeting_id = $1`, [meetingId]))
        .toEqual([{ status: 'started' }]);
      expect(await listed('failed')).toEqual([]);

      const all = await post('/admin/jobs/retry-all');
      expect(all.status).toBe(202);
      expect(all.body.retried).toBeGreaterThanOrEqual(1);
      expect(await listed('dead')).toEqual([]);
      expect((await post(`/admin/jobs/${id}/retry`)).status).toBe(404);
      expect((await get('/admin/jobs?state=stuck')).status).toBe(400);
    });
  });

  describe('cache', () => {
    it("shows, purges and rebuilds a meeting's entries", async () => {
      const meetingId = await meetingWithCaller('13512345678', 'caller-cache');
      const lookup = () =>
        http()
          .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
          .set({ authorization: `Bearer ${lookupToken}` })
          .send({ phone_numbers: [{ area: 86, phone_number: 13512345678 }] });
      expect((await lookup()).status).toBe(200);

      const filled = await get(`/admin/cache/meetings/${meetingId}`);
      expect(filled.status).toBe(200);
      expect(filled.body.numbers).toHaveLength(1);
      expect(filled.body.callers).toMatchObject([
        { ms_open_id: 'caller-cache', number: '+86 135****5678', status: 'connected' },
      ]);
      expect(JSON.stringify(filled.body)).not.toContain('13512345678');

      const purge = await http().delete(`/admin/cache/meetings/${meetingId}`).set(admin());
      expect(purge.status).toBe(204);
      expect((await get(`/admin/cache/meetings/${meetingId}`)).body).toMatchObject({
        numbers: [],
        callers: [],
      });
      // Postgres is untouched.
      expect(
        await count(`SELECT count(*) AS n FROM ms_open_id_mappings WHERE meeting_id = $1`, [
          meetingId,
        ]),
      ).toBe(1);

      const rebuild = await post(`/admin/cache/meetings/${meetingId}/rebuild`);
      expect(rebuild.status).toBe(200);
      expect(rebuild.body).toEqual({ meeting_id: meetingId, numbers: 1 });
      const rebuilt = await get(`/admin/cache/meetings/${meetingId}?reveal=true`);
      expect(rebuilt.body.callers).toMatchObject([
        { ms_open_id: 'caller-cache', number: '+86 13512345678' },
      ]);
      expect((await post(`/admin/cache/meetings/${newMeeting()}/rebuild`)).status).toBe(404);
    });
  });

  it('reports stats: counts by state, upstream calls, queue depth, oldest unprocessed event', async () => {
    await meetingWithCaller('13412345678', 'caller-stats');
    const [{ id }] = await rows<{ id: string }>(
      `INSERT INTO webhook_events (dedupe_key, event, payload, received_at)
       VALUES ($1, 'meeting.started', '{}', '2026-01-01T00:00:00Z') RETURNING id`,
      [randomUUID()],
    );
    const res = await get('/admin/stats');
    expect(res.status).toBe(200);
    expect(res.body.webhook_events.received).toBeGreaterThanOrEqual(1);
    expect(res.body.webhook_events.processed).toBeGreaterThanOrEqual(2);
    expect(res.body.meetings.started).toBeGreaterThanOrEqual(1);
    expect(res.body.phone_callers.connected).toBeGreaterThanOrEqual(1);
    expect(res.body.upstream_last_hour.calls).toBeGreaterThanOrEqual(1);
    expect(res.body.upstream_last_hour.by_outcome.ok).toBeGreaterThanOrEqual(1);
    expect(res.body.queue).toHaveProperty('dead');
    expect(res.body.oldest_unprocessed_event_at).toBe('2026-01-01T00:00:00.000Z');
    await t.db.query(`DELETE FROM webhook_events WHERE id = $1`, [id]);
  });
});
