import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookEventQueue } from '../src/queue/webhook-event.queue';
import { WebhookEventStore } from '../src/webhook/webhook-event.store';
import { encodeWebhookData, sign, signedDelivery } from '../tools/webhook-delivery';
import { metricValue } from './support/metrics';
import { nestedArrays, rowCounts } from './support/row-counts';
import {
  ADMIN_TOKEN,
  AES_KEY,
  AES_TOKEN,
  PLAIN_TOKEN,
  startTestApp,
  testEnv,
  type TestApp,
} from './support/test-app';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { buildEvent } from './support/webhook-fixtures';

/**
 * Issue 13, items 2 and 9 (ids beyond 2^53): signed Tencent events that JSON.parse accepts but
 * Postgres refuses as jsonb, sent alone and among valid neighbours in one group-commit batch.
 * Each is kept as text (quarantined, with the reason), acknowledged 200, counted, listed and
 * replayable; the neighbours are stored as if it had not been there.
 */

const URL_PATH = '/webhooks/tencent-meeting';
const ACK = 'successfully received callback';

/**
 * Values that parse as JSON and that Postgres refuses inside jsonb, each with the reason the
 * quarantined row records (Postgres's message and SQLSTATE, or intake's own check).
 */
const POISONS: [name: string, json: string, reason: string][] = [
  [
    'a lone surrogate escape',
    '"\\ud800"',
    // A truncated emoji: the high half of a surrogate pair with nothing after it.
    'invalid input syntax for type json (22P02)',
  ],
  ['a number beyond numeric', '1e400000', 'value overflows numeric format (22003)'],
  ['nesting 50,000 deep', nestedArrays(50_000), 'stack depth limit exceeded (54001)'],
  ['a NUL escape', '"a\\u0000b"', 'holds a NUL escape (\\u0000), which jsonb cannot store'],
];

describe('poison webhook events', () => {
  let databaseUrl: string;
  let t: TestApp;
  let queue: WebhookEventQueue;
  let store: WebhookEventStore;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    t = await startTestApp(testEnv(databaseUrl));
    queue = t.app.get(WebhookEventQueue);
    store = t.app.get(WebhookEventStore);
  });

  afterAll(async () => {
    await t?.close();
    await dropTestDatabase(databaseUrl);
  });

  const http = () => request(t.app.getHttpServer());
  const admin = () => ({ authorization: `Bearer ${ADMIN_TOKEN}` });
  const newMeeting = () => String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));

  /** Posts a plaintext as Tencent does (AES mode), freshly signed. */
  const post = (plaintext: string) => {
    const delivery = signedDelivery(AES_TOKEN, plaintext, AES_KEY);
    return http().post(URL_PATH).set(delivery.headers).send({ data: delivery.data });
  };

  /** A meeting.started event whose item carries `json` under an extra key. */
  const poisoned = (json: string, meetingId = newMeeting(), traceId = randomUUID()) => {
    const plaintext = buildEvent('meeting.started', { meetingId, traceId }).replace(
      '"user_name":"caller"',
      `"user_name":"caller","note":${json}`,
    );
    expect(plaintext).toContain(json);
    return { plaintext, meetingId, traceId };
  };

  const quarantinedMetric = async (reason: string) =>
    metricValue((await http().get('/metrics')).text, 'pstn_webhook_events_quarantined_total', {
      reason,
    });

  const rowsFor = (traceId: string) =>
    t.db.query<Record<string, unknown>[]>(
      `SELECT id, status, event, meeting_id, trace_id, dedupe_key, payload::text AS payload, raw,
              last_error
         FROM webhook_events WHERE trace_id = $1`,
      [traceId],
    );

  const meetingRows = async (meetingId: string) =>
    (
      await t.db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM meetings WHERE meeting_id = $1`,
        [meetingId],
      )
    )[0].n;

  describe.each(POISONS)('%s', (_name, json, reason) => {
    it('is kept quarantined as its plaintext, acknowledged, counted, listed, shown and replayable', async () => {
      const { plaintext, meetingId, traceId } = poisoned(json);
      const counted = await quarantinedMetric('unstorable');

      const res = await post(plaintext);
      expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: ACK });
      const [row] = await rowsFor(traceId);
      expect(row).toEqual({
        id: expect.stringMatching(/^\d+$/) as string,
        status: 'quarantined',
        event: 'meeting.started',
        meeting_id: meetingId,
        trace_id: traceId,
        dedupe_key: traceId,
        payload: null,
        raw: plaintext,
        last_error: reason,
      });
      expect(await quarantinedMetric('unstorable')).toBe(counted + 1);
      // Not applied: nothing has read it yet.
      expect(await meetingRows(meetingId)).toBe(0);

      // Tencent redelivers it (a new nonce and signature): still 200, still one row.
      const again = await post(plaintext);
      expect({ status: again.status, text: again.text }).toEqual({ status: 200, text: ACK });
      expect(await rowsFor(traceId)).toHaveLength(1);

      const listed = await http()
        .get(`/admin/webhook-events?status=quarantined&meeting_id=${meetingId}`)
        .set(admin());
      expect(listed.status).toBe(200);
      expect(listed.body).toMatchObject({ total: 1, page: 1, page_size: 50 });
      expect(listed.body.items).toEqual([
        expect.objectContaining({
          id: row.id,
          status: 'quarantined',
          event: 'meeting.started',
          meeting_id: meetingId,
          trace_id: traceId,
          last_error: reason,
        }),
      ]);

      const shown = await http()
        .get(`/admin/webhook-events/${row.id as string}?reveal=true`)
        .set(admin());
      expect(shown.status).toBe(200);
      expect(shown.body).toMatchObject({
        id: row.id,
        status: 'quarantined',
        last_error: reason,
        payload: null,
        raw: plaintext,
      });

      const replayed = await http()
        .post(`/admin/webhook-events/${row.id as string}/replay`)
        .set(admin());
      expect({ status: replayed.status, body: replayed.body as unknown }).toEqual({
        status: 202,
        body: { id: row.id, replayed: true },
      });
      // Processed from the text it was kept as: the meeting it starts exists now.
      await expect.poll(async () => (await rowsFor(traceId))[0].status).toBe('processed');
      expect(await meetingRows(meetingId)).toBe(1);
      const [after] = await rowsFor(traceId);
      expect({ payload: after.payload, raw: after.raw, last_error: after.last_error }).toEqual({
        payload: null,
        raw: plaintext,
        last_error: null,
      });
    });

    it('never fails the valid deliveries that share its batch', async () => {
      const insert = vi.spyOn(queue, 'insert');
      const save = store.save.bind(store);
      try {
        for (let round = 0; round < 4; round++) {
          insert.mockClear();
          const valid = Array.from({ length: 30 }, () => ({
            traceId: randomUUID(),
            meetingId: newMeeting(),
          }));
          const poison = poisoned(json);
          const deliveries = [
            ...valid.map(({ traceId, meetingId }) =>
              buildEvent('meeting.started', { traceId, meetingId }),
            ),
            poison.plaintext,
          ];
          // A NUL is found before storing; every other delivery goes to the group commit.
          const knownBeforehand = json.includes('\\u0000');
          const reachingStore = knownBeforehand ? 30 : 31;
          // The deliveries reach the store together, as under load: each waits for the others,
          // then they go on with the poison last. The first goes into a statement alone (none
          // is in flight), the other 29 and the poison share the next.
          let arrived = 0;
          let release = () => {};
          const together = new Promise<void>((resolve) => (release = resolve));
          const held = vi.spyOn(store, 'save').mockImplementation(async (event) => {
            arrived += 1;
            if (arrived === reachingStore) release();
            await together;
            if (event.dedupeKey === poison.traceId) await new Promise(setImmediate);
            return save(event);
          });
          const signed = deliveries.map((plaintext) =>
            signedDelivery(AES_TOKEN, plaintext, AES_KEY),
          );
          const answers = await Promise.all(
            signed.map((d) => http().post(URL_PATH).set(d.headers).send({ data: d.data })),
          );
          held.mockRestore();
          expect(answers.map((res) => [res.status, res.text])).toEqual(
            deliveries.map(() => [200, ACK]),
          );

          const stored = await t.db.query<{ trace_id: string; status: string; has: boolean }[]>(
            `SELECT trace_id, status, payload IS NOT NULL AS has FROM webhook_events
              WHERE trace_id = ANY($1)`,
            [[...valid.map((v) => v.traceId), poison.traceId]],
          );
          const byTrace = new Map(stored.map((row) => [row.trace_id, row]));
          expect(stored).toHaveLength(31);
          for (const { traceId } of valid) {
            expect(byTrace.get(traceId)?.has, traceId).toBe(true);
            expect(byTrace.get(traceId)?.status).not.toBe('quarantined');
          }
          expect(byTrace.get(poison.traceId)).toEqual({
            trace_id: poison.traceId,
            status: 'quarantined',
            has: false,
          });
          // Every valid meeting is applied.
          await expect
            .poll(async () =>
              Number(
                (
                  await t.db.query<{ n: string }[]>(
                    `SELECT count(*) AS n FROM meetings WHERE meeting_id = ANY($1)`,
                    [valid.map((v) => v.meetingId)],
                  )
                )[0].n,
              ),
            )
            .toBe(30);

          // The statements that ran: [size, refused]. Postgres refused the shared one because
          // of the poison; each of its deliveries was then stored alone, and only the poison's
          // statement was refused again (it was then kept as text).
          const statements = insert.mock.calls.map((call, index) => [
            call[0].length,
            insert.mock.settledResults[index]?.type === 'rejected',
          ]);
          expect(statements).toEqual(
            knownBeforehand
              ? [
                  [1, false],
                  [29, false],
                ]
              : [
                  [1, false],
                  [30, true],
                  ...Array.from({ length: 29 }, () => [1, false]),
                  [1, true],
                ],
          );
        }
      } finally {
        insert.mockRestore();
        vi.restoreAllMocks();
      }
    });
  });

  /**
   * A NUL escape sends an event to quarantine before storing, but the quarantined row's dedupe
   * key, trace_id, meeting_id and event name are text columns too, which cannot hold U+0000
   * (22021): an insert that failed on them would answer 503 on every redelivery, and the event
   * would be lost.
   */
  describe('a NUL escape or lone surrogate in a column intake writes', () => {
    const withNul = (what: string, plaintext: string) => {
      if (!plaintext.includes('\\u0000')) throw new Error(`no NUL escape in the ${what} case`);
      return [what, plaintext] as const;
    };
    const base = () =>
      buildEvent('meeting.started', { meetingId: newMeeting(), traceId: `T-${randomUUID()}` });
    it.each([
      withNul('trace_id', base().replace(/"trace_id":"T-/, '"trace_id":"\\u0000T-')),
      withNul('meeting_id', base().replace(/"meeting_id":"1/, '"meeting_id":"\\u00001')),
      withNul('event', base().replace('"meeting.started"', '"meeting.started\\u0000"')),
      withNul(
        'unique_sequence',
        JSON.stringify({
          event: 'meeting.started',
          unique_sequence: `u-${randomUUID()}`,
          payload: [],
        }).replace('"u-', '"\\u0000u-'),
      ),
    ])('keeps an event with a NUL in its %s quarantined', async (_what, plaintext) => {
      const before = await rowCounts(t.db);
      const res = await post(plaintext);
      expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: ACK });
      expect(await rowCounts(t.db)).toEqual({
        ...before,
        webhook_events: before.webhook_events + 1,
      });
    });

    // A trace_id holding a lone surrogate escape is quarantined (jsonb refuses the text), and
    // its dedupe key is a text column, where a surrogate sent as it is would become U+FFFD: two
    // different such trace ids would share a key, and the second event would be acknowledged
    // and dropped.
    it('keeps two events whose trace_ids differ only in a lone surrogate', async () => {
      const suffix = randomUUID();
      const before = await rowCounts(t.db);
      for (const surrogate of ['\\ud800', '\\udbff']) {
        const plaintext = buildEvent('meeting.started', {
          meetingId: newMeeting(),
          traceId: `TRACE-${suffix}`,
        }).replace('"TRACE-', `"${surrogate}-`);
        const res = await post(plaintext);
        expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: ACK });
      }
      expect(await rowCounts(t.db)).toEqual({
        ...before,
        webhook_events: before.webhook_events + 2,
      });
    });

    // A quarantined event is processed from its text on replay: a NUL in a field the applier
    // writes (subject, meeting_code, ms_open_id) must not fail the apply with 22021 every time.
    it('processes a quarantined event with a NUL in its subject when replayed', async () => {
      const meetingId = newMeeting();
      const traceId = randomUUID();
      const plaintext = buildEvent('meeting.started', { meetingId, traceId }).replace(
        'weekly sync',
        'weekly\\u0000sync',
      );
      expect((await post(plaintext)).status).toBe(200);
      const [row] = await rowsFor(traceId);
      expect(row.status).toBe('quarantined');
      await http()
        .post(`/admin/webhook-events/${row.id as string}/replay`)
        .set(admin());
      await expect.poll(async () => (await rowsFor(traceId))[0].status).not.toBe('received');
      expect((await rowsFor(traceId))[0]).toMatchObject({ status: 'processed', last_error: null });
    });

    // An escaped backslash followed by "u0000" (a path like C:\\u0000dir) is no NUL escape:
    // jsonb stores it, so it must be applied rather than wait in quarantine for an operator.
    it('stores an escaped backslash followed by "u0000" as an ordinary event', async () => {
      const { plaintext, traceId } = poisoned('"C:\\\\u0000dir"');
      expect((await post(plaintext)).status).toBe(200);
      const [row] = await rowsFor(traceId);
      expect(row.status).not.toBe('quarantined');
    });
  });

  describe('over-long keys', () => {
    it('hashes a trace_id over 128 characters into the dedupe key, and dedupes a redelivery', async () => {
      const traceId = `t${'x'.repeat(4000)}`;
      const meetingId = newMeeting();
      const plaintext = buildEvent('meeting.started', { meetingId, traceId });
      for (let i = 0; i < 2; i++) {
        const res = await post(plaintext);
        expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: ACK });
      }
      const rows = await rowsFor(traceId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        trace_id: traceId,
        meeting_id: meetingId,
        dedupe_key: `sha256:${createHash('sha256').update(traceId).digest('hex')}`,
      });
      expect(rows[0].status).not.toBe('quarantined');
      await expect.poll(() => meetingRows(meetingId)).toBe(1);
    });

    it('quarantines a meeting_id over 128 characters', async () => {
      const traceId = randomUUID();
      const counted = await quarantinedMetric('unstorable');
      const plaintext = buildEvent('meeting.started', { meetingId: '9'.repeat(3000), traceId });
      const res = await post(plaintext);
      expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: ACK });
      expect(await rowsFor(traceId)).toEqual([
        expect.objectContaining({
          status: 'quarantined',
          meeting_id: null,
          dedupe_key: traceId,
          payload: null,
          raw: plaintext,
          last_error: 'a meeting_id is longer than 128 characters',
        }),
      ]);
      expect(await quarantinedMetric('unstorable')).toBe(counted + 1);
    });
  });

  describe('signed deliveries that do not decode, and unsigned ones', () => {
    const undecodable: [string, () => { data: string; headers: Record<string, string> }, string][] =
      [
        [
          'bad base64',
          () => {
            const data = `not*base64!${randomUUID()}`;
            return { data, headers: sign(PLAIN_TOKEN, data) };
          },
          'undecodable_data: data is not valid base64',
        ],
        [
          'the wrong AES key',
          () => {
            const data = encodeWebhookData(
              buildEvent('meeting.started'),
              'BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
            );
            return { data, headers: sign(AES_TOKEN, data) };
          },
          'undecodable_data: data could not be decrypted with the configured EncodingAESKey (wrong key?)',
        ],
        [
          'a plaintext that is not JSON',
          () => {
            const delivery = signedDelivery(PLAIN_TOKEN, `not json ${randomUUID()}`);
            return { data: delivery.data, headers: delivery.headers };
          },
          'malformed_event: decoded data is not JSON',
        ],
      ];

    it.each(undecodable)(
      'answers %s 400 and keeps it quarantined as its data',
      async (_n, build, reason) => {
        const { data, headers } = build();
        const counted = await quarantinedMetric('undecodable');
        const before = await rowCounts(t.db);
        for (let i = 0; i < 2; i++) {
          const res = await http().post(URL_PATH).set(headers).send({ data });
          expect(res.status).toBe(400);
          expect(res.body).toEqual({
            error: { code: reason.split(':')[0], message: reason.slice(reason.indexOf(': ') + 2) },
          });
        }
        expect(await rowCounts(t.db)).toEqual({
          ...before,
          webhook_events: before.webhook_events + 1,
        });
        const rows = await t.db.query<Record<string, unknown>[]>(
          `SELECT status, event, trace_id, meeting_id, payload, last_error, dedupe_key
           FROM webhook_events WHERE raw = $1`,
          [data],
        );
        expect(rows).toEqual([
          {
            status: 'quarantined',
            event: 'unknown',
            trace_id: null,
            meeting_id: null,
            payload: null,
            last_error: reason,
            dedupe_key: `sha256:${createHash('sha256').update(data).digest('hex')}`,
          },
        ]);
        // Counted at each answer: the redelivery was refused (and counted) again.
        expect(await quarantinedMetric('undecodable')).toBe(counted + 2);
      },
    );

    it.each(POISONS)('stores nothing of %s under a bad signature', async (_name, json) => {
      const { plaintext, traceId } = poisoned(json);
      const delivery = signedDelivery(AES_TOKEN, plaintext, AES_KEY);
      const before = await rowCounts(t.db);
      const quarantined = await quarantinedMetric('unstorable');
      const res = await http()
        .post(URL_PATH)
        .set({ ...delivery.headers, signature: '0'.repeat(40) })
        .send({ data: delivery.data });
      expect({ status: res.status, body: res.body as unknown }).toEqual({
        status: 401,
        body: {
          error: {
            code: 'invalid_signature',
            message: 'signature does not match any configured token',
          },
        },
      });
      expect(await rowCounts(t.db)).toEqual(before);
      expect(await rowsFor(traceId)).toEqual([]);
      expect(await quarantinedMetric('unstorable')).toBe(quarantined);
    });
  });

  describe('a meeting_id sent as a JSON number beyond 2^53 (item 9)', () => {
    it('is stored and applied with the digits it was written with', async () => {
      const meetingId = '13339451618278424869';
      const traceId = randomUUID();
      const plaintext = buildEvent('meeting.started', { meetingId, traceId }).replace(
        `"meeting_id":"${meetingId}"`,
        `"meeting_id":${meetingId}`,
      );
      expect(plaintext).toContain(`"meeting_id":${meetingId},`);
      const res = await post(plaintext);
      expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: ACK });
      const [row] = await rowsFor(traceId);
      expect(row.meeting_id).toBe(meetingId);
      // The stored payload holds the number as written (jsonb numeric is exact).
      expect(row.payload).toContain(`"meeting_id": ${meetingId}`);
      await expect.poll(() => meetingRows(meetingId)).toBe(1);
      // As a double it would have been 13339451618278424576 (or ...4000 printed): never stored.
      expect(await meetingRows(String(Number(meetingId)))).toBe(0);
      expect(await meetingRows('13339451618278424576')).toBe(0);
    });
  });
});
