import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientsService } from '../src/auth/api-clients.service';
import { DrainingGate } from '../src/common/http-edge';
import { signedDelivery } from '../tools/webhook-delivery';
import { listeningPort, rawExchange, type RawAnswer } from './support/raw-http';
import { nestedArrays, rowCounts, type RowCounts } from './support/row-counts';
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
 * Issue 13, items 3, 5, 6 and 9 (headers): the service as careless and hostile HTTP clients meet
 * it. Every refusal is a 4xx in the one error shape, as JSON, and changes no stored row; slow
 * and unfinished requests are closed; log lines never carry a path or a query.
 */

const JSON_TYPE = 'application/json; charset=utf-8';
/** Small timeouts, so that slow requests are closed within seconds (Node checks every second). */
const REQUEST_TIMEOUT_MS = 1500;
const HEADERS_TIMEOUT_MS = 1000;
/**
 * Above the request timeout and Node's check after it: an idle timer that fired first would
 * close a stalled request without its 408 (the socket's inactivity timeout destroys it).
 */
const IDLE_TIMEOUT_MS = 4000;
/** A timed-out request is noticed at Node's next check, one second later at the most. */
const CHECK_SLACK_MS = 1000 + 500;

interface ErrorBody {
  error: { code: string; message: string };
}

describe('the HTTP edge against careless and hostile clients', () => {
  let databaseUrl: string;
  let t: TestApp;
  let port: number;
  let lookupToken: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    t = await startTestApp(
      testEnv(databaseUrl, {
        LOG_LEVEL: 'info',
        // No scheduled job writes lines of its own meanwhile.
        SCHEDULER_ENABLED: 'false',
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        HTTP_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      }),
      { logDestination: { write: (chunk: string) => logLines.push(...chunk.split('\n')) } },
    );
    port = await listeningPort(t.app);
    lookupToken = (await t.app.get(ApiClientsService).create('careless-client', ['lookup'])).token;
    // Something in every table whose count the tests compare.
    const delivery = signedDelivery(AES_TOKEN, buildEvent('meeting.started'), AES_KEY);
    const stored = await http()
      .post('/webhooks/tencent-meeting')
      .set(delivery.headers)
      .send({ data: delivery.data });
    expect(stored.status).toBe(200);
    const tracked = await http()
      .put('/v1/meetings/1/tracked-numbers')
      .set(lookup())
      .send({ phone_numbers: [{ area: 86, phone_number: '13700000000' }] });
    expect(tracked.status).toBe(200);
  });

  afterAll(async () => {
    await t?.close();
    await dropTestDatabase(databaseUrl);
  });

  const http = () => request(t.app.getHttpServer());
  const lookup = () => ({ authorization: `Bearer ${lookupToken}` });
  const admin = () => ({ authorization: `Bearer ${ADMIN_TOKEN}` });
  const error = (code: string, message: string): ErrorBody => ({ error: { code, message } });

  /** A request line and the headers a well-behaved client sends, for the raw-socket tests. */
  const head = (method: string, path: string, extra = '') =>
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}`;

  /** Expects `raw` to be the error answer written on the socket, and the socket closed. */
  function expectSocketError(raw: RawAnswer, status: number, body: ErrorBody): void {
    expect({ status: raw.status, body: raw.body, closedByServer: raw.closedByServer }).toEqual({
      status,
      body: JSON.stringify(body),
      closedByServer: true,
    });
    expect(raw.headers['content-type']).toBe(JSON_TYPE);
    expect(raw.headers['x-content-type-options']).toBe('nosniff');
    expect(raw.headers.connection).toBe('close');
  }

  describe('bad input answers a 4xx in the error shape and changes nothing (item 5)', () => {
    let before: RowCounts;

    beforeAll(async () => {
      before = await rowCounts(t.db);
    });

    /** [name, method, path, headers, body (a JSON text), status, the error] */
    const cases: [
      string,
      'get' | 'post' | 'put',
      string,
      'lookup' | 'admin',
      string | undefined,
      number,
      ErrorBody,
    ][] = [
      [
        'a NUL in a path parameter',
        'get',
        '/v1/meetings/1/pstn-participants/a%00b',
        'lookup',
        undefined,
        400,
        error('bad_request', 'msOpenId must be 1 to 128 printable characters'),
      ],
      [
        'an event id beyond bigint',
        'get',
        '/admin/webhook-events/9999999999999999999',
        'admin',
        undefined,
        400,
        error('bad_request', 'id must be a positive integer within bigint range'),
      ],
      [
        'a replay of an event id beyond bigint',
        'post',
        '/admin/webhook-events/9999999999999999999/replay',
        'admin',
        undefined,
        400,
        error('bad_request', 'id must be a positive integer within bigint range'),
      ],
      [
        'a page beyond any table',
        'get',
        '/admin/webhook-events?page=99999999999999999999',
        'admin',
        undefined,
        400,
        error('bad_request', 'page must not be greater than 1000000'),
      ],
      [
        'a page of meetings beyond any table',
        'get',
        '/admin/meetings?page=99999999999999999999',
        'admin',
        undefined,
        400,
        error('bad_request', 'page must not be greater than 1000000'),
      ],
      ...(['/admin/meetings', '/admin/webhook-events'] as const).flatMap((path) =>
        (['from=2026-02-30', 'from=0000-01-01', 'to=2026-13-01'] as const).map(
          (query): (typeof cases)[number] => [
            `${query} on ${path}`,
            'get',
            `${path}?${query}`,
            'admin',
            undefined,
            400,
            error(
              'bad_request',
              `${query.split('=')[0]} must be an ISO 8601 date or time between 1970 and 9999 that exists`,
            ),
          ],
        ),
      ),
      [
        'a NUL as the event filter',
        'get',
        '/admin/webhook-events?event=%00',
        'admin',
        undefined,
        400,
        error('bad_request', 'event must be 1 to 100 printable characters'),
      ],
      [
        'a new API client whose name holds 2000 nested arrays',
        'post',
        '/admin/api-clients',
        'admin',
        `{"name":${nestedArrays(2000)},"scopes":["lookup"]}`,
        400,
        error(
          'bad_request',
          'name must be 1 to 100 characters, none of them a control character or a lone surrogate',
        ),
      ],
      [
        'a new API client with an extra key holding 2000 nested arrays',
        'post',
        '/admin/api-clients',
        'admin',
        `{"name":"n","scopes":["lookup"],"x":${nestedArrays(2000)}}`,
        400,
        error('bad_request', 'property x should not exist'),
      ],
      [
        'tracked numbers holding 2000 nested arrays',
        'put',
        '/v1/meetings/1/tracked-numbers',
        'lookup',
        `{"phone_numbers":${nestedArrays(2000)}}`,
        400,
        error('bad_request', 'phone_numbers.0 must be object'),
      ],
      [
        'a tracked number whose area holds 2000 nested arrays',
        'put',
        '/v1/meetings/1/tracked-numbers',
        'lookup',
        `{"phone_numbers":[{"area":${nestedArrays(2000)},"phone_number":"13800000000"}]}`,
        400,
        error(
          'bad_request',
          'phone_numbers.0.area must be 1 to 4 digits, as a number or a digit string',
        ),
      ],
      [
        'a drop-in lookup holding 2000 nested arrays',
        'post',
        '/v1/meetings/1/phone/ms-open-id',
        'lookup',
        `{"phone_numbers":${nestedArrays(2000)}}`,
        400,
        error('bad_request', 'phone_numbers.0 must be object'),
      ],
      [
        'a bad percent-escape',
        'get',
        '/v1/meetings/1/pstn-participants/%ZZ',
        'lookup',
        undefined,
        400,
        error('bad_request', 'the URL is not valid (a percent-escape that does not decode, say)'),
      ],
      [
        'a URL over 8 KiB',
        'get',
        `/v1/meetings/1/pstn-participants?status=${'a'.repeat(8 * 1024)}`,
        'lookup',
        undefined,
        414,
        error('uri_too_long', 'the URL is longer than 8192 characters'),
      ],
    ];

    it.each(cases)('%s', async (_name, method, path, who, body, status, expected) => {
      const agent = http();
      let req = agent[method](path).set(who === 'admin' ? admin() : lookup());
      if (body !== undefined) req = req.set('content-type', 'application/json').send(body);
      const res = await req;
      expect({ status: res.status, body: res.body as unknown }).toEqual({ status, body: expected });
      expect(res.headers['content-type']).toBe(JSON_TYPE);
      expect(await rowCounts(t.db)).toEqual(before);
    });

    // id-rules.ts allows an ms_open_id of 1 to 128 printable characters: Fastify's
    // maxParamLength (100 by default) must not refuse it before the route's own rule.
    it('answers a reverse lookup of an unknown 128-character ms_open_id 404', async () => {
      const res = await http()
        .get(`/v1/meetings/1/pstn-participants/${'a'.repeat(128)}`)
        .set(lookup());
      expect({ status: res.status, body: res.body as unknown }).toEqual({
        status: 404,
        body: error('participant_not_found', 'no phone caller with this ms_open_id'),
      });
    });

    // The new client's name is the API's one free-text input: a NUL would reach the INSERT,
    // which Postgres refuses (22021), and a lone surrogate would be kept as U+FFFD.
    it.each([
      ['a NUL', 'a\\u0000b'],
      ['a lone surrogate', 'a\\ud800b'],
    ])('answers a new API client whose name holds %s 400', async (_what, name) => {
      const res = await http()
        .post('/admin/api-clients')
        .set(admin())
        .set('content-type', 'application/json')
        .send(`{"name":"${name}","scopes":["lookup"]}`);
      expect({ status: res.status, code: (res.body as ErrorBody).error.code }).toEqual({
        status: 400,
        code: 'bad_request',
      });
      expect(await rowCounts(t.db)).toEqual(before);
    });

    it('answers headers over 16 KiB 431 on the socket', async () => {
      const raw = await rawExchange(port, [
        head(
          'GET',
          '/v1/meetings/1/pstn-participants',
          `X-Filler: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
        ),
      ]);
      expectSocketError(
        raw,
        431,
        error('headers_too_large', 'the request line and headers are too large'),
      );
      expect(await rowCounts(t.db)).toEqual(before);
    });

    it('answers bytes that are not HTTP 400 on the socket', async () => {
      const raw = await rawExchange(port, [
        Buffer.from([
          0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a,
        ]),
      ]);
      expectSocketError(raw, 400, error('bad_request', 'the request could not be read as HTTP'));
      const text = await rawExchange(port, ['HELLO WORLD\r\n\r\n']);
      expectSocketError(text, 400, error('bad_request', 'the request could not be read as HTTP'));
      expect(await rowCounts(t.db)).toEqual(before);
    });

    it('shows a stored event nested 5000 deep in its admin view (200, the text itself)', async () => {
      const traceId = `deep-${Date.now()}`;
      const plaintext = JSON.stringify({
        event: 'meeting.updated',
        trace_id: traceId,
        payload: [{ deep: 0 }],
      }).replace('{"deep":0}', `{"deep":${nestedArrays(5000, '1')}}`);
      const delivery = signedDelivery(PLAIN_TOKEN, plaintext);
      const stored = await http()
        .post('/webhooks/tencent-meeting')
        .set(delivery.headers)
        .send({ data: delivery.data });
      expect(stored.status).toBe(200);
      const [row] = await t.db.query<{ id: string; status: string; payload: string }[]>(
        `SELECT id, status, payload::text AS payload FROM webhook_events WHERE trace_id = $1`,
        [traceId],
      );
      expect(row.status).toBe('processed');
      const view = await http().get(`/admin/webhook-events/${row.id}?reveal=true`).set(admin());
      expect(view.status).toBe(200);
      expect(view.headers['content-type']).toBe(JSON_TYPE);
      // Too deep to show as a structure: shown as the JSON text Postgres holds.
      expect(view.body.payload).toBe(row.payload);
      expect(view.body.trace_id).toBe(traceId);
      before = await rowCounts(t.db);
    });
  });

  describe('slow and unfinished requests are closed (item 3)', () => {
    it('answers a POST whose body stalls after a few bytes 408 and closes it', async () => {
      const before = await rowCounts(t.db);
      const raw = await rawExchange(
        port,
        [
          head(
            'POST',
            '/webhooks/tencent-meeting',
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"data":"ab',
          ),
        ],
        { waitMs: 10_000 },
      );
      expectSocketError(raw, 408, error('request_timeout', 'the request did not arrive in time'));
      expect(raw.ms).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS);
      expect(await rowCounts(t.db)).toEqual(before);
    });

    it('closes a body dripped a byte at a time at the request timeout all the same', async () => {
      const drip = Array.from({ length: 40 }, () => 'a');
      const raw = await rawExchange(
        port,
        [
          head(
            'POST',
            '/webhooks/tencent-meeting',
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"data":"',
          ),
          ...drip,
        ],
        { waitMs: 10_000, gapMs: 200 },
      );
      expectSocketError(raw, 408, error('request_timeout', 'the request did not arrive in time'));
      expect(raw.ms).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS);
    });

    it('answers headers that never finish 408 and closes them', async () => {
      const raw = await rawExchange(
        port,
        ['POST /webhooks/tencent-meeting HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le'],
        { waitMs: 10_000 },
      );
      expectSocketError(raw, 408, error('request_timeout', 'the request did not arrive in time'));
      expect(raw.ms).toBeLessThan(HEADERS_TIMEOUT_MS + CHECK_SLACK_MS);
    });

    it('closes a kept-alive connection that stays idle', async () => {
      const raw = await rawExchange(port, [head('GET', '/health/live', '\r\n')], {
        waitMs: 10_000,
      });
      expect(raw.status).toBe(200);
      expect(raw.closedByServer).toBe(true);
      // Node 24 closes a kept-alive socket a second after keepAliveTimeout (its buffer for
      // clients that reuse a connection just as it expires).
      expect(raw.ms).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS);
      expect(raw.ms).toBeLessThan(IDLE_TIMEOUT_MS + 1000 + CHECK_SLACK_MS);
    });
  });

  describe('headers on every answer (item 9)', () => {
    /** [name, request, status, content type, whether the answer must not be cached] */
    const answers: [string, () => request.Test, number, string, boolean][] = [
      [
        'a lookup',
        () => http().get('/v1/meetings/1/pstn-participants').set(lookup()),
        200,
        JSON_TYPE,
        true,
      ],
      [
        'a lookup 400',
        () => http().get('/v1/meetings/x/pstn-participants').set(lookup()),
        400,
        JSON_TYPE,
        true,
      ],
      ['a lookup 401', () => http().get('/v1/meetings/1/pstn-participants'), 401, JSON_TYPE, true],
      ['an admin view', () => http().get('/admin/stats').set(admin()), 200, JSON_TYPE, true],
      ['an admin 403', () => http().get('/admin/stats').set(lookup()), 403, JSON_TYPE, true],
      ['an admin 404', () => http().get('/admin/nothing-here').set(admin()), 404, JSON_TYPE, true],
      ['a 404 elsewhere', () => http().get('/nothing-here'), 404, JSON_TYPE, false],
      [
        'the webhook acknowledgement (text/plain)',
        () => {
          const d = signedDelivery(PLAIN_TOKEN, buildEvent('meeting.started'));
          return http().post('/webhooks/tencent-meeting').set(d.headers).send({ data: d.data });
        },
        200,
        'text/plain; charset=utf-8',
        false,
      ],
      [
        'a webhook 401',
        () =>
          http()
            .get('/webhooks/tencent-meeting?check_str=abc')
            .set({ timestamp: '1', nonce: '1', signature: 'x' }),
        401,
        JSON_TYPE,
        false,
      ],
      ['/health/live', () => http().get('/health/live'), 200, JSON_TYPE, false],
      [
        '/metrics',
        () => http().get('/metrics'),
        200,
        'text/plain; version=0.0.4; charset=utf-8',
        false,
      ],
      [
        'a 414',
        () =>
          http()
            .get(`/v1/meetings/1/pstn-participants?x=${'a'.repeat(9000)}`)
            .set(lookup()),
        414,
        JSON_TYPE,
        true,
      ],
    ];

    it.each(answers)(
      '%s: nosniff, and no-store only on the API',
      async (_name, send, status, type, noStore) => {
        const res = await send();
        expect(res.status).toBe(status);
        expect(res.headers['content-type']).toBe(type);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['cache-control']).toBe(noStore ? 'no-store' : undefined);
      },
    );

    // Fastify answers a URL it cannot route (a bad percent-escape, a path parameter over its
    // maxParamLength) through frameworkErrors, without running the onRequest hooks.
    it.each([
      ['a bad percent-escape under /v1', '/v1/meetings/1/pstn-participants/%ZZ'],
      [
        'a path parameter over 200 characters',
        `/v1/meetings/1/pstn-participants/${'a'.repeat(201)}`,
      ],
    ])('%s: nosniff and no-store', async (_name, path) => {
      const res = await http().get(path).set(lookup());
      expect(res.status).toBe(400);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
    });
  });

  describe('log lines name the route, never the path or the query (item 6)', () => {
    const SECRET_PATH_TOKEN = 'pt_secret-token-in-path';
    const CHECK_STR = 'c2VjcmV0LWNoZWNrLXN0cmluZw';
    const SPELLINGS = ['13812345678', '+8613812345678', '8613812345678', '%2B8613812345678'];

    it('writes the pattern or "unmatched" for each request, and none of what was in the URL', async () => {
      const from = logLines.length;
      const sent: [string, string, Record<string, string>][] = [
        ['get', `/admin/api-clients/${SECRET_PATH_TOKEN}`, admin()],
        ['delete', `/admin/api-clients/${SECRET_PATH_TOKEN}`, admin()],
        ['get', '/v1/meetings/1/pstn-participants/+8613812345678', lookup()],
        ['get', '/v1/meetings/1/pstn-participants/%2B8613812345678', lookup()],
        ['get', '/v1/meetings/1/pstn-participants?status=8613812345678', lookup()],
        ['get', `/v1/meetings/1/pstn-participants/%ZZ?check_str=${CHECK_STR}`, lookup()],
        [
          'get',
          `/webhooks/tencent-meeting?check_str=${CHECK_STR}`,
          { timestamp: '1', nonce: '1', signature: 'x' },
        ],
        ['get', '/nowhere/13812345678', {}],
      ];
      const statuses: number[] = [];
      for (const [method, path, headers] of sent) {
        statuses.push((await http()[method as 'get'](path).set(headers)).status);
      }
      expect(statuses).toEqual([404, 400, 404, 404, 400, 400, 401, 404]);
      const lines = logLines
        .slice(from)
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const requestLines = lines.filter((line) => line.msg === 'request');
      expect(requestLines.map((line) => [line.method, line.route, line.status])).toEqual([
        ['GET', 'unmatched', 404],
        ['DELETE', '/admin/api-clients/:id', 400],
        ['GET', '/v1/meetings/:meetingId/pstn-participants/:msOpenId', 404],
        ['GET', '/v1/meetings/:meetingId/pstn-participants/:msOpenId', 404],
        ['GET', '/v1/meetings/:meetingId/pstn-participants', 400],
        // The bad URL has no line at all: Fastify answers it through frameworkErrors without
        // the response listeners that call the log controller (reported).
        ['GET', '/webhooks/tencent-meeting', 401],
        ['GET', 'unmatched', 404],
      ]);
      // Nothing else was written about these requests: no line of Fastify's naming the URL.
      expect(
        lines.filter(
          (line) => line.msg !== 'request' && ('reqId' in line || 'req' in line || 'url' in line),
        ),
      ).toEqual([]);
      const written = logLines.slice(from).join('\n');
      for (const secret of [SECRET_PATH_TOKEN, CHECK_STR, ...SPELLINGS]) {
        expect(written.includes(secret), secret).toBe(false);
      }
    });

    it('never wrote a number, a token or a check_str in any line of this file', () => {
      const written = logLines.join('\n');
      for (const secret of ['13812345678', 'pt_secret', lookupToken, ADMIN_TOKEN, 'c2VjcmV0']) {
        expect(written.includes(secret), secret).toBe(false);
      }
    });
  });

  describe('shutdown (item 5)', () => {
    it('answers requests that arrive once shutdown has begun 503, in the error shape', async () => {
      const closing = await startTestApp(testEnv(databaseUrl));
      try {
        const before = await rowCounts(t.db);
        closing.app.get(DrainingGate).beforeApplicationShutdown();
        const closingHttp = () => request(closing.app.getHttpServer());
        const d = signedDelivery(PLAIN_TOKEN, buildEvent('meeting.started'));
        for (const res of [
          await closingHttp().get('/v1/meetings/1/pstn-participants').set(lookup()),
          await closingHttp().get('/admin/stats').set(admin()),
          await closingHttp()
            .post('/webhooks/tencent-meeting')
            .set(d.headers)
            .send({ data: d.data }),
          await closingHttp().get('/nothing-here'),
        ]) {
          expect({ status: res.status, body: res.body as unknown }).toEqual({
            status: 503,
            body: error('service_unavailable', 'the service is shutting down; retry elsewhere'),
          });
          expect(res.headers['content-type']).toBe(JSON_TYPE);
          expect(res.headers.connection).toBe('close');
          expect(res.headers['x-content-type-options']).toBe('nosniff');
        }
        expect(await rowCounts(t.db)).toEqual(before);
      } finally {
        await closing.close();
      }
    });
  });
});
