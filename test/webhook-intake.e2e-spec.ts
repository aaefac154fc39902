import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import {
  AES_KEY,
  AES_TOKEN,
  PLAIN_TOKEN,
  startTestApp,
  testEnv,
  type TestApp,
} from './support/test-app';
import { DrainingGate } from '../src/common/http-edge';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { TcpProxy } from './support/tcp-proxy';
import { encodeWebhookData, sign, signedDelivery } from '../tools/webhook-delivery';
import { buildEvent } from './support/webhook-fixtures';

const URL_PATH = '/webhooks/tencent-meeting';

describe('Tencent webhook intake', () => {
  let databaseUrl: string;
  let t: TestApp;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    t = await startTestApp(testEnv(databaseUrl));
  });

  afterAll(async () => {
    await t.close();
    await dropTestDatabase(databaseUrl);
  });

  const http = () => request(t.app.getHttpServer());
  const post = (headers: Record<string, string>, body: unknown) =>
    http()
      .post(URL_PATH)
      .set(headers)
      .send(body as object);
  /** What a client sees of an answer: status, content type and body. */
  const countRows = async (): Promise<number> =>
    Number((await t.db.query('SELECT count(*) AS n FROM webhook_events'))[0].n);
  const rowsFor = (traceId: string) =>
    t.db.query<Record<string, unknown>[]>('SELECT * FROM webhook_events WHERE trace_id = $1', [
      traceId,
    ]);

  describe('GET URL check', () => {
    it('answers the decoded check_str as plain text in plain mode', async () => {
      const checkStr = encodeWebhookData('hello-plain');
      const res = await http()
        .get(URL_PATH)
        .query({ check_str: checkStr })
        .set(sign(PLAIN_TOKEN, checkStr));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('hello-plain');
    });

    it('decrypts check_str in AES mode, with "+" and "/" left as they are', async () => {
      // This plaintext encrypts to a ciphertext whose base64 holds both "+" and "/".
      let plaintext = '';
      let checkStr = '';
      for (let i = 0; !(checkStr.includes('+') && checkStr.includes('/')); i += 1) {
        plaintext = `check-${i}`;
        checkStr = encodeWebhookData(plaintext, AES_KEY);
      }
      const res = await http()
        .get(`${URL_PATH}?check_str=${encodeURIComponent(checkStr)}`)
        .set(sign(AES_TOKEN, checkStr));
      expect(res.status).toBe(200);
      expect(res.text).toBe(plaintext);
    });

    it('rejects a forged signature with 401 and a missing check_str with 400', async () => {
      const checkStr = encodeWebhookData('x');
      const forged = await http()
        .get(URL_PATH)
        .query({ check_str: checkStr })
        .set({ ...sign(PLAIN_TOKEN, checkStr), signature: 'f'.repeat(40) });
      expect(forged.status).toBe(401);
      expect(forged.body).toEqual({
        error: {
          code: 'invalid_signature',
          message: 'signature does not match any configured token',
        },
      });
      const missing = await http().get(URL_PATH).set(sign(PLAIN_TOKEN, ''));
      expect(missing.status).toBe(400);
      expect(missing.body.error.message).toBe('check_str query parameter is required');
    });
  });

  describe('POST event delivery', () => {
    it.each([
      ['plain', PLAIN_TOKEN, undefined],
      ['AES', AES_TOKEN, AES_KEY],
    ])('stores a %s-mode event and answers only after the commit', async (_mode, token, key) => {
      const traceId = randomUUID();
      const delivery = signedDelivery(
        token,
        buildEvent('meeting.participant-joined', { traceId, meetingId: '9001' }),
        key,
      );
      const res = await post(delivery.headers, { data: delivery.data });
      expect(res.status).toBe(200);
      expect(res.text).toBe('successfully received callback');
      const rows = await rowsFor(traceId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        dedupe_key: traceId,
        event: 'meeting.participant-joined',
        meeting_id: '9001',
      });
      expect((rows[0].payload as { trace_id: string }).trace_id).toBe(traceId);
    });

    it('keeps one row for a redelivery with a new nonce and signature', async () => {
      const traceId = randomUUID();
      const plaintext = buildEvent('meeting.started', { traceId });
      for (let i = 0; i < 2; i += 1) {
        const delivery = signedDelivery(PLAIN_TOKEN, plaintext);
        const res = await post(delivery.headers, { data: delivery.data });
        expect(res.status).toBe(200);
      }
      expect(await rowsFor(traceId)).toHaveLength(1);
    });

    it('keeps one row, applied once, for 20 concurrent identical deliveries', async () => {
      const traceId = randomUUID();
      const delivery = signedDelivery(AES_TOKEN, buildEvent('meeting.end', { traceId }), AES_KEY);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => post(delivery.headers, { data: delivery.data })),
      );
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(await rowsFor(traceId)).toHaveLength(1);
      await expect
        .poll(async () => (await rowsFor(traceId))[0]?.status, { timeout: 5000 })
        .toBe('processed');
      expect((await rowsFor(traceId))[0].attempts).toBe(1);
    });

    it('dedupes on unique_sequence, then on a hash of data, for older payloads', async () => {
      const sequence = randomUUID();
      const old = JSON.stringify({
        event: 'meeting.created',
        unique_sequence: sequence,
        payload: [],
      });
      const noKey = JSON.stringify({ event: 'meeting.updated', payload: [{ n: randomUUID() }] });
      for (const plaintext of [old, old, noKey, noKey]) {
        const delivery = signedDelivery(PLAIN_TOKEN, plaintext);
        expect((await post(delivery.headers, { data: delivery.data })).status).toBe(200);
      }
      const rows = await t.db.query<{ dedupe_key: string }[]>(
        `SELECT dedupe_key FROM webhook_events WHERE event IN ('meeting.created', 'meeting.updated')
          AND (dedupe_key = $1 OR payload->'payload'->0->>'n' = $2)`,
        [sequence, (JSON.parse(noKey) as { payload: { n: string }[] }).payload[0].n],
      );
      const keys = rows.map((r) => r.dedupe_key);
      expect(keys).toHaveLength(2);
      expect(keys).toContain(sequence);
      expect(keys.find((key) => key !== sequence)).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('stores and acknowledges an unknown event name', async () => {
      const traceId = randomUUID();
      const delivery = signedDelivery(PLAIN_TOKEN, buildEvent('recording.completed', { traceId }));
      expect((await post(delivery.headers, { data: delivery.data })).status).toBe(200);
      expect(await rowsFor(traceId)).toHaveLength(1);
    });

    it('marks the stored event processed through the durable queue', async () => {
      const traceId = randomUUID();
      const delivery = signedDelivery(PLAIN_TOKEN, buildEvent('meeting.started', { traceId }));
      await post(delivery.headers, { data: delivery.data });
      await expect
        .poll(async () => (await rowsFor(traceId))[0]?.status, { timeout: 5000 })
        .toBe('processed');
    });
  });

  describe('bad input loses nothing', () => {
    /** The last flag: signed by a configured token, so kept (quarantined) though refused. */
    const cases: [
      string,
      () => { headers: Record<string, string>; body: unknown },
      number,
      string,
      boolean?,
    ][] = [
      [
        'a forged signature',
        () => {
          const d = signedDelivery(PLAIN_TOKEN, buildEvent('meeting.started'));
          return { headers: { ...d.headers, signature: '0'.repeat(40) }, body: { data: d.data } };
        },
        401,
        'signature does not match any configured token',
      ],
      [
        'a signature made with an unknown token',
        () => {
          const d = signedDelivery('unknownToken0000000000000', buildEvent('meeting.started'));
          return { headers: d.headers, body: { data: d.data } };
        },
        401,
        'signature does not match any configured token',
      ],
      [
        'missing signature headers',
        () => ({ headers: {}, body: { data: encodeWebhookData(buildEvent('meeting.started')) } }),
        400,
        'timestamp, nonce and signature headers are required',
      ],
      [
        'broken base64',
        () => {
          const data = 'not*base64!';
          return { headers: sign(PLAIN_TOKEN, data), body: { data } };
        },
        400,
        'data is not valid base64',
        true,
      ],
      [
        'a plaintext that is not JSON',
        () => {
          const d = signedDelivery(PLAIN_TOKEN, 'hello, not json');
          return { headers: d.headers, body: { data: d.data } };
        },
        400,
        'decoded data is not JSON',
        true,
      ],
      [
        'ciphertext under the wrong AES key',
        () => {
          const data = encodeWebhookData(
            buildEvent('meeting.started'),
            'BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
          );
          return { headers: sign(AES_TOKEN, data), body: { data } };
        },
        400,
        'data could not be decrypted with the configured EncodingAESKey (wrong key?)',
        true,
      ],
      [
        'a body without data',
        () => ({ headers: sign(PLAIN_TOKEN, ''), body: { other: 1 } }),
        400,
        'body must be a JSON object with a string "data"',
      ],
    ];

    it.each(cases)('rejects %s', async (_name, build, status, message, kept = false) => {
      const before = await countRows();
      const { headers, body } = build();
      const res = await post(headers, body);
      expect(res.status).toBe(status);
      expect(res.body.error.message).toBe(message);
      if (!kept) {
        expect(await countRows()).toBe(before);
        return;
      }
      // Signed by a configured token: kept as it came, for an operator, and nothing else.
      expect(await countRows()).toBe(before + 1);
      const [row] = await t.db.query<Record<string, unknown>[]>(
        `SELECT status, raw, payload, last_error FROM webhook_events WHERE raw = $1`,
        [(body as { data: string }).data],
      );
      expect(row).toMatchObject({ status: 'quarantined', payload: null });
      expect(row.last_error).toContain(message);
    });

    it.each([
      ['__proto__', '"__proto__"'],
      ['__proto__ spelled with an escape', '"\\u005f_proto__"'],
      ['constructor spelled with an escape', '"\\u0063onstructor"'],
    ])('refuses a body naming %s with 400', async (_name, key) => {
      const before = await countRows();
      const d = signedDelivery(PLAIN_TOKEN, buildEvent('meeting.started'));
      const res = await http()
        .post(URL_PATH)
        .set({ ...d.headers, 'content-type': 'application/json' })
        .send(`{"data":"${d.data}",${key}:{"prototype":{"polluted":true}}}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
      expect(await countRows()).toBe(before);
    });

    it('rejects a body over the limit with 413', async () => {
      const before = await countRows();
      const res = await post({}, { data: 'a'.repeat(1024 * 1024 + 10) });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
      expect(await countRows()).toBe(before);
    });

    it('rejects a body that is not JSON with 400', async () => {
      const before = await countRows();
      const res = await http().post(URL_PATH).set('content-type', 'application/json').send('{oops');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
      expect(await countRows()).toBe(before);
    });
  });

  it('answers 503 within 2 s when Postgres is unreachable, and stores nothing', async () => {
    const proxy = await TcpProxy.start(5432);
    const proxiedUrl = databaseUrl.replace(':5432/', `:${proxy.port}/`);
    const logLines: string[] = [];
    const second = await startTestApp(testEnv(proxiedUrl, { LOG_LEVEL: 'info' }), {
      logDestination: { write: (line: string) => logLines.push(line) },
    });
    try {
      await proxy.close();
      const traceId = randomUUID();
      const delivery = signedDelivery(PLAIN_TOKEN, buildEvent('meeting.started', { traceId }));
      const started = Date.now();
      const res = await request(second.app.getHttpServer())
        .post(URL_PATH)
        .set(delivery.headers)
        .send({ data: delivery.data });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('storage_unavailable');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await rowsFor(traceId)).toHaveLength(0);
      // The error line names the cause and the id of the request it answered.
      const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const answered = entries.find((entry) => entry.msg === 'request' && entry.status === 503);
      const failure = entries.find((entry) => String(entry.msg).startsWith('storage_unavailable'));
      expect(failure).toMatchObject({ level: 50, context: 'Errors', reqId: answered?.reqId });
      expect(answered?.route).toBe(URL_PATH);
    } finally {
      await second.app.close().catch(() => undefined);
    }
  });

  it('answers a delivery that arrives once shutdown has begun 503, in the error shape', async () => {
    const closing = await startTestApp(testEnv(databaseUrl));
    try {
      const delivery = signedDelivery(PLAIN_TOKEN, buildEvent('meeting.started'));
      closing.app.get(DrainingGate).beforeApplicationShutdown();
      const res = await request(closing.app.getHttpServer())
        .post(URL_PATH)
        .set(delivery.headers)
        .send({ data: delivery.data });
      expect(res.status).toBe(503);
      expect(res.headers.connection).toBe('close');
      expect(res.body).toEqual({
        error: {
          code: 'service_unavailable',
          message: 'the service is shutting down; retry elsewhere',
        },
      });
    } finally {
      await closing.close();
    }
  });
});
