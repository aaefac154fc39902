import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientsService } from '../src/auth/api-clients.service';
import { RedisClient } from '../src/redis/redis.client';
import { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { deliver } from './support/deliver';
import { SseClient } from './support/sse-client';
import { TcpProxy } from './support/tcp-proxy';
import {
  ADMIN_TOKEN,
  startTestApp,
  TENCENT_CREDENTIALS,
  testEnv,
  type TestApp,
} from './support/test-app';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { buildEvent } from './support/webhook-fixtures';
import { testKeyPrefix } from './support/test-redis';

describe('lookup API for meeting-control services', () => {
  let databaseUrl: string;
  let fake: FakeTencentServer;
  let redisProxy: TcpProxy;
  let a: TestApp;
  let b: TestApp;
  let token: string;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    fake = new FakeTencentServer(TENCENT_CREDENTIALS);
    const overrides = {
      TENCENT_API_BASE_URL: await fake.start(),
      TENCENT_TIMEOUT_MS: '500',
      REDIS_KEY_PREFIX: testKeyPrefix(),
    };
    redisProxy = await TcpProxy.start(6379);
    // Instance A reaches Redis through a proxy the tests can cut; B reaches it directly.
    a = await startTestApp(
      testEnv(databaseUrl, { ...overrides, REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/0` }),
    );
    b = await startTestApp(testEnv(databaseUrl, overrides));
    token = (await a.app.get(ApiClientsService).create('meeting-control', ['lookup'])).token;
  });

  afterAll(async () => {
    expect(fake.badSignatureCount).toBe(0);
    await Promise.all([a.close(), b.close()]);
    await redisProxy.close();
    await fake.close();
    await dropTestDatabase(databaseUrl);
  });

  const http = (t: TestApp = a) => request(t.app.getHttpServer());
  const bearer = () => ({ authorization: `Bearer ${token}` });
  const lookup = (meetingId: string, numbers: unknown[], t: TestApp = a) =>
    http(t)
      .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
      .set(bearer())
      .send({ operator_id: 'op', operator_id_type: 1, phone_numbers: numbers });
  const newMeeting = () => String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));
  const count = async (sql: string, params: unknown[]) =>
    Number((await a.db.query<{ n: string }[]>(sql, params))[0].n);

  /** A started meeting with one phone caller whose number was registered and resolved. */
  async function resolvedCaller(number: string, msOpenId: string): Promise<string> {
    const meetingId = newMeeting();
    await deliver(a, buildEvent('meeting.started', { meetingId }));
    await expect
      .poll(() => count(`SELECT count(*) AS n FROM meetings WHERE meeting_id = $1`, [meetingId]))
      .toBe(1);
    const put = await http()
      .put(`/v1/meetings/${meetingId}/tracked-numbers`)
      .set(bearer())
      .send({ phone_numbers: [{ area: 86, phone_number: number }] });
    expect(put.status).toBe(200);
    fake.connect(meetingId, 86, number, msOpenId);
    await deliver(a, buildEvent('meeting.participant-joined', { meetingId, msOpenId }));
    await expect
      .poll(() =>
        count(`SELECT count(*) AS n FROM ms_open_id_mappings WHERE meeting_id = $1`, [meetingId]),
      )
      .toBe(1);
    return meetingId;
  }

  describe('authentication', () => {
    it('answers 401 without a token or with an unknown one', async () => {
      const none = await http().post('/v1/meetings/1/phone/ms-open-id').send({});
      expect(none.status).toBe(401);
      expect(none.body.error.message).toBe('an Authorization: Bearer token is required');
      const bad = await http()
        .get('/v1/meetings/1/pstn-participants')
        .set({ authorization: 'Bearer pt_not-a-token' });
      expect(bad.status).toBe(401);
      expect(bad.body.error.message).toBe('the token is not valid');
    });

    it('answers 403 when a lookup token calls an admin route', async () => {
      const res = await http().get('/admin/api-clients').set(bearer());
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe('this route needs the "admin" scope');
    });

    it('stops accepting a revoked token at once, on every instance', async () => {
      const created = await http()
        .post('/admin/api-clients')
        .set({ authorization: `Bearer ${ADMIN_TOKEN}` })
        .send({ name: 'short-lived', scopes: ['lookup'] });
      expect(created.status).toBe(201);
      const temporary = { authorization: `Bearer ${created.body.token as string}` };
      const meetingId = await resolvedCaller('13700000001', 'revoke-1');
      for (const t of [a, b]) {
        expect(
          (await http(t).get(`/v1/meetings/${meetingId}/pstn-participants`).set(temporary)).status,
        ).toBe(200);
      }
      const revoked = await http()
        .delete(`/admin/api-clients/${created.body.id as string}`)
        .set({ authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(revoked.status).toBe(204);
      expect(
        (await http(a).get(`/v1/meetings/${meetingId}/pstn-participants`).set(temporary)).status,
      ).toBe(401);
      await expect
        .poll(
          async () =>
            (await http(b).get(`/v1/meetings/${meetingId}/pstn-participants`).set(temporary))
              .status,
        )
        .toBe(401);
    });
  });

  it('publishes the OpenAPI document of the contract routes', async () => {
    const res = await http().get('/docs-json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths as object)).toEqual(
      expect.arrayContaining([
        '/v1/meetings/{meetingId}/phone/ms-open-id',
        '/v1/meetings/{meetingId}/tracked-numbers',
        '/v1/meetings/{meetingId}/pstn-participants',
        '/v1/meetings/{meetingId}/pstn-participants/{msOpenId}',
        '/v1/meetings/{meetingId}/pstn-events',
      ]),
    );
    expect((await http().get('/docs')).status).toBe(200);
  });

  describe('bad input changes nothing', () => {
    it.each([
      [{ area: 86, phone_number: '12ab' }, 'phone_numbers.0.phone_number must be 4 to 20 digits'],
      [{ area: 'x86', phone_number: 13800000000 }, 'phone_numbers.0.area must be 1 to 4 digits'],
      [{ area: 86 }, 'phone_numbers.0.phone_number is required'],
      [{ area: -86, phone_number: 13800000000 }, 'phone_numbers.0.area must be 1 to 4 digits'],
      [{ area: 86, phone_number: 2 ** 53 }, 'phone_numbers.0.phone_number must be 4 to 20 digits'],
      [
        { area: 86, phone_number: '１３８００００００００' },
        'phone_numbers.0.phone_number must be 4',
      ],
    ])('answers 400 naming the field for %j', async (number, message) => {
      const meetingId = await resolvedCaller(
        '13700000002',
        `bad-${randomBytes(3).toString('hex')}`,
      );
      const before = await count(`SELECT count(*) AS n FROM tracked_numbers`, []);
      const res = await lookup(meetingId, [number]);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
      expect(res.body.error.message).toContain(message);
      expect(await count(`SELECT count(*) AS n FROM tracked_numbers`, [])).toBe(before);
    });

    it('answers 400 for a malformed meeting id and an empty list', async () => {
      const badId = await lookup('12ab', [{ area: 86, phone_number: 13800000000 }]);
      expect(badId.status).toBe(400);
      expect(badId.body.error.message).toBe('meetingId must be a string of up to 32 digits');
      const empty = await lookup('123', []);
      expect(empty.status).toBe(400);
      expect(empty.body.error.message).toBe('phone_numbers must NOT have fewer than 1 items');
      const many = await lookup(
        '123',
        Array.from({ length: 101 }, (_, i) => ({ area: 86, phone_number: 13800000000 + i })),
      );
      expect(many.status).toBe(400);
      expect(many.body.error.message).toBe('phone_numbers must NOT have more than 100 items');
    });

    it.each([['-1'], ['30001'], ['1.5'], ['abc'], ['']])(
      'answers 400 for wait_ms=%s, and tracks nothing',
      async (wait) => {
        const meetingId = newMeeting();
        const res = await http()
          .post(`/v1/meetings/${meetingId}/phone/ms-open-id?wait_ms=${wait}`)
          .set(bearer())
          .send({ phone_numbers: [{ area: 86, phone_number: 13800000000 }] });
        expect(res.status).toBe(400);
        expect(res.body.error.message).toBe(
          'wait_ms must be a whole number of milliseconds from 0 to 30000',
        );
        expect(
          await count(`SELECT count(*) AS n FROM tracked_numbers WHERE meeting_id = $1`, [
            meetingId,
          ]),
        ).toBe(0);
      },
    );
  });

  describe('a meeting no webhook has mentioned yet', () => {
    it('answers the drop-in with an empty list and tracks the numbers', async () => {
      const meetingId = newMeeting();
      const res = await lookup(meetingId, [{ area: 86, phone_number: 13800000000 }]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ meeting_id: meetingId, ms_open_id_list: [] });
      expect(
        await count(`SELECT count(*) AS n FROM tracked_numbers WHERE meeting_id = $1`, [meetingId]),
      ).toBe(1);
    });

    it('registers numbers before the meeting starts, and resolves them once their calls connect', async () => {
      const meetingId = newMeeting();
      const put = await http()
        .put(`/v1/meetings/${meetingId}/tracked-numbers`)
        .set(bearer())
        .send({ phone_numbers: [{ area: 86, phone_number: '13700000020' }] });
      expect(put.status).toBe(200);
      expect(put.body.phone_numbers).toEqual([
        { area: 86, phone_number: '13700000020', ms_open_ids: [] },
      ]);
      const list = await http().get(`/v1/meetings/${meetingId}/pstn-participants`).set(bearer());
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ meeting_id: meetingId, participants: [] });
      // The first webhook of the meeting is a phone caller joining.
      fake.connect(meetingId, 86, '13700000020', 'early-1');
      await deliver(
        a,
        buildEvent('meeting.participant-joined', { meetingId, msOpenId: 'early-1' }),
      );
      await expect
        .poll(async () => (await lookup(meetingId, [{ area: 86, phone_number: 13700000020 }])).body)
        .toEqual({
          meeting_id: meetingId,
          ms_open_id_list: [
            { area: 86, phone_number: 13700000020, ms_open_id: 'early-1', status: 'connected' },
          ],
        });
    });

    it('answers a reverse lookup of an unknown caller 404', async () => {
      const res = await http()
        .get(`/v1/meetings/${newMeeting()}/pstn-participants/nobody`)
        .set(bearer());
      expect(res.status).toBe(404);
      expect(res.body.error).toEqual({
        code: 'participant_not_found',
        message: 'no phone caller with this ms_open_id',
      });
    });
  });

  describe('?wait_ms', () => {
    it('answers as soon as every number asked has a connected id, from another instance', async () => {
      const meetingId = newMeeting();
      const waiting = lookup(meetingId, [{ area: 86, phone_number: 13700000021 }], b).query({
        wait_ms: 10_000,
      });
      const started = Date.now();
      const answer = waiting.then((res) => ({ res, ms: Date.now() - started }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      fake.connect(meetingId, 86, '13700000021', 'waited-1');
      await deliver(
        a,
        buildEvent('meeting.participant-joined', { meetingId, msOpenId: 'waited-1' }),
      );
      const { res, ms } = await answer;
      expect(res.status).toBe(200);
      expect(res.body.ms_open_id_list).toEqual([
        { area: 86, phone_number: 13700000021, ms_open_id: 'waited-1', status: 'connected' },
      ]);
      expect(ms).toBeLessThan(5_000);
    });

    it('answers with what is known when the time is up', async () => {
      const meetingId = newMeeting();
      const started = Date.now();
      const res = await lookup(meetingId, [{ area: 86, phone_number: 13700000022 }]).query({
        wait_ms: 300,
      });
      expect(res.status).toBe(200);
      expect(res.body.ms_open_id_list).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    });
  });

  it("answers in Tencent's shape, echoing numbers as asked, plus each id's status", async () => {
    const meetingId = await resolvedCaller('13700000003', 'shape-1');
    const asNumber = await lookup(meetingId, [{ area: 86, phone_number: 13700000003 }]);
    expect(asNumber.status).toBe(200);
    expect(asNumber.body).toEqual({
      meeting_id: meetingId,
      ms_open_id_list: [
        { area: 86, phone_number: 13700000003, ms_open_id: 'shape-1', status: 'connected' },
      ],
    });
    const asString = await lookup(meetingId, [{ area: '86', phone_number: '13700000003' }]);
    expect(asString.body.ms_open_id_list[0]).toMatchObject({
      area: '86',
      phone_number: '13700000003',
    });
  });

  it('fills the cache on a miss and answers the next lookup from it', async () => {
    const meetingId = await resolvedCaller('13700000004', 'cached-1');
    const prefix = a.env.REDIS_KEY_PREFIX;
    const redis = a.app.get(RedisClient);
    expect(await redis.exists(`${prefix}m:${meetingId}:n`)).toBe(0);
    expect(
      (await lookup(meetingId, [{ area: 86, phone_number: 13700000004 }])).body.ms_open_id_list,
    ).toHaveLength(1);
    expect(await redis.hlen(`${prefix}m:${meetingId}:n`)).toBe(1);
    // Changed behind the service's back: a cached answer does not see it.
    await a.db.query(
      `UPDATE ms_open_id_mappings SET ms_open_id = 'changed' WHERE meeting_id = $1`,
      [meetingId],
    );
    const hit = await lookup(meetingId, [{ area: 86, phone_number: 13700000004 }]);
    expect(hit.body.ms_open_id_list[0].ms_open_id).toBe('cached-1');
    await a.db.query(
      `UPDATE ms_open_id_mappings SET ms_open_id = 'cached-1' WHERE meeting_id = $1`,
      [meetingId],
    );
    // A cached number still gets the full checks: what the DTOs or the guard refuse is refused.
    const extra = await http()
      .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
      .set(bearer())
      .send({ phone_numbers: [{ area: 86, phone_number: 13700000004 }], extra: 1 });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toBe('property extra should not exist');
    const anonymous = await http()
      .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
      .send({ phone_numbers: [{ area: 86, phone_number: 13700000004 }] });
    expect(anonymous.status).toBe(401);
    // No number in Redis key names or hash fields.
    const keys = await redis.keys(`${prefix}*`);
    const fields = await redis.hkeys(`${prefix}m:${meetingId}:n`);
    expect([...keys, ...fields].join(' ')).not.toContain('13700000004');
  });

  it('answers cache hits and everything else through Fastify, with the same checks', async () => {
    const meetingId = await resolvedCaller('13700000013', 'lane-1');
    const number = { area: 86, phone_number: 13700000013 };
    const path = `/v1/meetings/${meetingId}/phone/ms-open-id`;
    expect((await lookup(meetingId, [number], b)).status).toBe(200);
    const hit = await lookup(meetingId, [number], b);
    expect(hit.body).toEqual({
      meeting_id: meetingId,
      ms_open_id_list: [{ ...number, ms_open_id: 'lane-1', status: 'connected' }],
    });
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hit.headers['cache-control']).toBe('no-store');
    expect(hit.headers['x-content-type-options']).toBe('nosniff');

    const tracked = await count(`SELECT count(*) AS n FROM tracked_numbers`, []);
    const broken = await http(b)
      .post(path)
      .set({ ...bearer(), 'content-type': 'application/json' })
      .send('{"phone_numbers": [');
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('bad_request');
    const padded = await http(b)
      .post(path)
      .set({ ...bearer(), 'content-type': 'application/json' })
      .send(JSON.stringify({ phone_numbers: [number] }) + ' '.repeat(20_000));
    expect(padded.status).toBe(200);
    expect(padded.body.ms_open_id_list[0].ms_open_id).toBe('lane-1');
    const wrongScope = await http(b)
      .post(path)
      .set({ authorization: 'Bearer pt_not-a-token' })
      .send({ phone_numbers: [number] });
    expect(wrongScope.status).toBe(401);
    expect(await count(`SELECT count(*) AS n FROM tracked_numbers`, [])).toBe(tracked);
  });

  it('invalidates on leave and on meeting end', async () => {
    const meetingId = await resolvedCaller('13700000005', 'leaver');
    const ask = () => lookup(meetingId, [{ area: 86, phone_number: 13700000005 }]);
    const status = async () => (await ask()).body.ms_open_id_list[0].status;
    // A miss, then a hit: the instance has read (and parsed) the cached value.
    expect([await status(), await status()]).toEqual(['connected', 'connected']);
    await deliver(a, buildEvent('meeting.participant-left', { meetingId, msOpenId: 'leaver' }));
    await expect.poll(status).toBe('left');
    // The refilled value, read from the cache again, is the new one.
    expect([await status(), await status()]).toEqual(['left', 'left']);

    const second = await resolvedCaller('13700000006', 'ender');
    const askSecond = () => lookup(second, [{ area: 86, phone_number: 13700000006 }]);
    expect((await askSecond()).body.ms_open_id_list[0].status).toBe('connected');
    await deliver(a, buildEvent('meeting.end', { meetingId: second }));
    await expect.poll(async () => (await askSecond()).body.ms_open_id_list[0].status).toBe('left');
  });

  it('answers reverse lookups and lists callers', async () => {
    const meetingId = await resolvedCaller('13700000007', 'reverse-1');
    const one = await http()
      .get(`/v1/meetings/${meetingId}/pstn-participants/reverse-1`)
      .set(bearer());
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      meeting_id: meetingId,
      ms_open_id: 'reverse-1',
      instance_id: 0,
      area: '86',
      phone_number: '13700000007',
      status: 'connected',
    });
    const unknown = await http()
      .get(`/v1/meetings/${meetingId}/pstn-participants/nobody`)
      .set(bearer());
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('participant_not_found');
    const list = await http()
      .get(`/v1/meetings/${meetingId}/pstn-participants`)
      .query({ status: 'connected' })
      .set(bearer());
    expect(list.body.participants.map((p: { ms_open_id: string }) => p.ms_open_id)).toEqual([
      'reverse-1',
    ]);
    const left = await http()
      .get(`/v1/meetings/${meetingId}/pstn-participants?status=left`)
      .set(bearer());
    expect(left.body.participants).toEqual([]);
    const bad = await http()
      .get(`/v1/meetings/${meetingId}/pstn-participants?status=gone`)
      .set(bearer());
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('status must be one of the following values');
  });

  it('registers tracked numbers idempotently', async () => {
    const meetingId = await resolvedCaller('13700000008', 'tracked-1');
    for (let i = 0; i < 2; i += 1) {
      const res = await http()
        .put(`/v1/meetings/${meetingId}/tracked-numbers`)
        .set(bearer())
        .send({
          phone_numbers: [
            { area: 86, phone_number: 13700000008 },
            { area: 86, phone_number: '13700000009' },
          ],
        });
      expect(res.status).toBe(200);
      expect(res.body.phone_numbers).toEqual([
        {
          area: 86,
          phone_number: 13700000008,
          ms_open_ids: [{ ms_open_id: 'tracked-1', status: 'connected' }],
        },
        { area: 86, phone_number: '13700000009', ms_open_ids: [] },
      ]);
    }
    expect(
      await count(`SELECT count(*) AS n FROM tracked_numbers WHERE meeting_id = $1`, [meetingId]),
    ).toBe(2);
  });

  it('makes one upstream call for 200 concurrent lookups of one unresolved number', async () => {
    const meetingId = newMeeting();
    await deliver(a, buildEvent('meeting.started', { meetingId }));
    fake.connect(meetingId, 86, '13700000010', 'crowd');
    await deliver(a, buildEvent('meeting.participant-joined', { meetingId, msOpenId: 'crowd' }));
    await expect
      .poll(() =>
        count(`SELECT count(*) AS n FROM pstn_participants WHERE meeting_id = $1`, [meetingId]),
      )
      .toBe(1);
    const answers = await Promise.all(
      Array.from({ length: 200 }, () =>
        lookup(meetingId, [{ area: 86, phone_number: 13700000010 }]),
      ),
    );
    expect(new Set(answers.map((r) => r.body.ms_open_id_list?.[0]?.ms_open_id))).toEqual(
      new Set(['crowd']),
    );
    expect(fake.callsFor(meetingId)).toBe(1);
  });

  /**
   * A resolved caller looked up five times while `cutRedis` keeps instance A from its Redis:
   * each answer comes from Postgres within a second (without a limit on how long a connection
   * may wait, a hung Redis would hold it forever). Then Redis comes back and the cache is used.
   */
  async function answersWithoutRedis(
    number: string,
    msOpenId: string,
    cutRedis: () => Promise<void> | void,
  ): Promise<void> {
    const meetingId = await resolvedCaller(number, msOpenId);
    const ask = () => lookup(meetingId, [{ area: 86, phone_number: Number(number) }]);
    const redis = a.app.get(RedisClient);
    const port = redisProxy.port;
    await cutRedis();
    for (let i = 0; i < 5; i += 1) {
      const started = Date.now();
      const res = await ask();
      expect(Date.now() - started).toBeLessThan(1000);
      expect(res.body.ms_open_id_list).toEqual([
        { area: 86, phone_number: Number(number), ms_open_id: msOpenId, status: 'connected' },
      ]);
    }
    expect(redis.status).not.toBe('ready');
    await redisProxy.close();
    redisProxy = await TcpProxy.start(6379, port);
    await expect.poll(() => redis.status, { timeout: 5000 }).toBe('ready');
    await ask();
    expect(await redis.hlen(`${a.env.REDIS_KEY_PREFIX}m:${meetingId}:n`)).toBe(1);
  }

  it('answers from Postgres while Redis is unreachable, then uses the cache again', async () => {
    await answersWithoutRedis('13700000011', 'no-redis', () => redisProxy.close());
  });

  it('answers from Postgres while Redis hangs (connected, answering nothing), then uses the cache again', async () => {
    await answersWithoutRedis('13700000013', 'hung-redis', () => redisProxy.freeze());
  });

  it('streams participant events to a subscriber of another instance, and replays after Last-Event-ID', async () => {
    const meetingId = newMeeting();
    await deliver(a, buildEvent('meeting.started', { meetingId }));
    await expect
      .poll(() => count(`SELECT count(*) AS n FROM meetings WHERE meeting_id = $1`, [meetingId]))
      .toBe(1);
    await http()
      .put(`/v1/meetings/${meetingId}/tracked-numbers`)
      .set(bearer())
      .send({ phone_numbers: [{ area: 86, phone_number: 13700000012 }] });
    await b.app.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(b.app.getHttpServer().address() as AddressInfo).port}/v1/meetings/${meetingId}/pstn-events`;
    const client = await SseClient.open(url, bearer());
    expect(client.status).toBe(200);
    fake.connect(meetingId, 86, '13700000012', 'streamed');
    await deliver(a, buildEvent('meeting.participant-joined', { meetingId, msOpenId: 'streamed' }));
    await expect
      .poll(() => client.events.map((e) => e.event), { timeout: 5000 })
      .toEqual(['participant.joined', 'participant.resolved']);
    expect(client.events[1].data).toEqual({
      meeting_id: meetingId,
      ms_open_id: 'streamed',
      area: '86',
      phone_number: '13700000012',
    });
    client.close();

    const again = await SseClient.open(url, {
      ...bearer(),
      'last-event-id': client.events[0].id ?? '',
    });
    await expect.poll(() => again.events.map((e) => e.event)).toEqual(['participant.resolved']);
    again.close();
  });
});
