import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClientsService } from '../../src/auth/api-clients.service';
import {
  ADMIN_TOKEN,
  AES_KEY,
  AES_TOKEN,
  PLAIN_TOKEN,
  startTestApp,
  testEnv,
  type TestApp,
} from '../support/test-app';
import { createTestDatabase, dropTestDatabase } from '../support/test-database';
import { parseTencentEvent } from '../../src/webhook/tencent-event.parser';
import { decodeWebhookData } from '../../src/webhook/webhook-data-codec';
import { parseWebhookSecrets } from '../../src/webhook/webhook-secrets';
import { computeWebhookSignature } from '../../src/webhook/webhook-signature';
import { sign, signedDelivery } from '../../tools/webhook-delivery';
import { buildEvent } from '../support/webhook-fixtures';

/**
 * Twelve classes of request share these: each of the seven older ones still gets as many as when
 * they shared 10,000 (about 1,650 against 1,430).
 */
const REQUESTS = 20_000;

interface ErrorAnswer {
  error: { code: string; message: string };
}

let databaseUrl: string;
let t: TestApp;
let token: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  t = await startTestApp(testEnv(databaseUrl));
  token = (await t.app.get(ApiClientsService).create('fuzzer', ['lookup'])).token;
});

afterAll(async () => {
  await t?.close();
  await dropTestDatabase(databaseUrl);
});

/** A seeded generator, so a failing request can be found again from its index. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const text = (max: number) =>
    Array.from({ length: int(max) }, () => String.fromCharCode(int(0x2500))).join('');
  const value = (depth = 0): unknown =>
    pick([
      () => null,
      () => int(1e6) - 5e5,
      () => next() * 1e20,
      () => text(20),
      () => pick([true, false]),
      () => (depth > 2 ? [] : Array.from({ length: int(4) }, () => value(depth + 1))),
      () =>
        depth > 2
          ? {}
          : Object.fromEntries(Array.from({ length: int(4) }, () => [text(8), value(depth + 1)])),
    ])();
  /** `source` with a few characters replaced, removed or duplicated. */
  const mutate = (source: string) => {
    let out = source;
    for (let i = 0, n = 1 + int(4); i < n; i++) {
      const at = int(out.length + 1);
      out = pick([
        () => out.slice(0, at) + String.fromCharCode(int(128)) + out.slice(at + 1),
        () => out.slice(0, at) + out.slice(at + 1),
        () => out.slice(0, at) + out.slice(at, at + 5) + out.slice(at),
      ])();
    }
    return out;
  };
  /** Digits enough to overflow any integer type: a bigint, a double, Postgres's numeric. */
  const hugeInteger = () =>
    pick([
      '9999999999999999999',
      '99999999999999999999',
      '18446744073709551616',
      '9'.repeat(40),
      '1'.repeat(20 + int(400)),
      `-${'9'.repeat(20)}`,
    ]);
  /**
   * A JSON value that JSON.parse takes and Postgres's jsonb refuses (or only just takes): lone
   * surrogate escapes, numbers beyond numeric, nesting deeper than its parser goes.
   */
  const poison = () =>
    pick([
      () => pick(['"\\ud800"', '"\\udfff"', '"x\\ud83d"', '"\\udc00\\ud800"']),
      () => pick(['1e400000', '-1e400000', '1e-400000', '1E131072', hugeInteger()]),
      () => {
        const depth = pick([1000, 5000, 20_000, 60_000]);
        return `${'['.repeat(depth)}${pick(['', '1', '{}'])}${']'.repeat(depth)}`;
      },
      // JSON.stringify writes the NUL as its escape, \u0000.
      () => JSON.stringify(`${text(3)}\0${text(3)}`),
    ])();
  /** Dates Postgres or the calendar do not have, and times that do not exist. */
  const impossibleDate = () =>
    pick([
      '2026-02-30',
      '2026-02-29',
      '0000-01-01',
      '1969-12-31',
      '2026-13-01',
      '2026-00-10',
      '2026-04-31',
      '10000-01-01',
      '2026-11-25T24:00:00Z',
      '2026-11-25T23:61:00Z',
      '2026-11-25T12:00:00+99:99',
      '2026-11-25T12:00:00.1234567Z',
      '99999-99-99',
      `${hugeInteger()}-01-01`,
      '2026-1-5',
      '',
    ]);
  /** A NUL, percent-encoded, for a path parameter or a query value. */
  const nulText = () => pick(['%00', 'a%00b', '%00%00', `${int(1e6)}%00`]);
  return { int, pick, text, value, mutate, hugeInteger, poison, impossibleDate, nulText };
}

interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

const SECRETS = parseWebhookSecrets(`${PLAIN_TOKEN},${AES_TOKEN}`, `,${AES_KEY}`);

/**
 * The configured secret whose token signed this delivery, as HTTP and Tencent read it (header
 * values without surrounding whitespace, the hex signature in either case); null for none.
 */
function signingSecret(fuzz: FuzzRequest) {
  const header = (name: string) => fuzz.headers[name]?.trim() ?? '';
  let data: unknown;
  try {
    data = (JSON.parse(fuzz.payload ?? '') as { data?: unknown }).data;
  } catch {
    return null;
  }
  if (typeof data !== 'string') return null;
  return (
    SECRETS.find(
      ({ token }) =>
        computeWebhookSignature(token, header('timestamp'), header('nonce'), data) ===
        header('signature').toLowerCase(),
    ) ?? null
  );
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The contract's dedupe key of a delivery: its trace_id, else its unique_sequence (as intake's
 * parser reads them, integers beyond 2^53 as their digits), else a hash of `data`; a key over
 * 128 characters is hashed.
 */
function dedupeKey(data: string, plaintext: string): string {
  const { event } = parseTencentEvent(plaintext);
  const id = event.traceId ?? event.uniqueSequence;
  return id !== null && id.length <= 128 ? id : `sha256:${sha256(id ?? data)}`;
}

/** Postgres text cannot hold NUL: a quarantined text keeps it as its JSON escape. */
function storable(text: string): string {
  return text.replaceAll('\0', '\\u0000');
}

function fuzzRequest(g: ReturnType<typeof generator>): FuzzRequest {
  const good = signedDelivery(AES_TOKEN, buildEvent('meeting.started'), AES_KEY);
  const json = { 'content-type': 'application/json' };
  return g.pick<() => FuzzRequest>([
    // Webhook bodies: mutated data under the original signature.
    () => ({
      method: 'POST',
      url: '/webhooks/tencent-meeting',
      headers: { ...json, ...good.headers },
      payload: JSON.stringify({ data: g.mutate(good.data) }),
    }),
    // Mutated headers over the original data.
    () => {
      const headers: Record<string, string> = { ...json, ...good.headers };
      const name = g.pick(['timestamp', 'nonce', 'signature']);
      if (g.int(2) === 0) delete headers[name];
      else headers[name] = g.mutate(headers[name]);
      return {
        method: 'POST',
        url: '/webhooks/tencent-meeting',
        headers,
        payload: JSON.stringify({ data: good.data }),
      };
    },
    // Random JSON, raw garbage, or the wrong content type.
    () => ({
      method: 'POST',
      url: '/webhooks/tencent-meeting',
      headers: g.pick([json, { 'content-type': 'text/plain' }, { 'content-type': 'x/y' }]),
      payload:
        g.int(100) === 0
          ? JSON.stringify({ data: 'A'.repeat(1_100_000) })
          : g.int(2) === 0
            ? JSON.stringify(g.value())
            : g.mutate('{"data":"abc"}'),
    }),
    // Correctly signed, but the data is random text or random JSON once decoded.
    () => {
      const data =
        g.int(2) === 0
          ? g.mutate(good.data)
          : Buffer.from(JSON.stringify(g.value())).toString('base64');
      return {
        method: 'POST',
        url: '/webhooks/tencent-meeting',
        headers: { ...json, ...sign(PLAIN_TOKEN, data) },
        payload: JSON.stringify({ data }),
      };
    },
    // URL checks with mutated check_str and headers.
    () => ({
      method: 'GET',
      url: `/webhooks/tencent-meeting?check_str=${encodeURIComponent(g.mutate(good.data))}`,
      headers: g.int(2) === 0 ? good.headers : { ...good.headers, signature: g.text(40) },
    }),
    // Lookups with random meeting ids, bodies and tokens.
    () => ({
      method: 'POST',
      url: `/v1/meetings/${encodeURIComponent(g.pick([g.text(12), String(g.int(1e9)), '1'.repeat(40)]))}/phone/ms-open-id`,
      headers: {
        ...json,
        authorization: g.int(4) === 0 ? `Bearer ${g.text(30)}` : `Bearer ${token}`,
      },
      payload: JSON.stringify(
        g.int(2) === 0
          ? g.value()
          : {
              phone_numbers: Array.from({ length: g.int(3) }, () => ({
                area: g.value(),
                phone_number: g.value(),
              })),
            },
      ),
    }),
    // Signed events holding a value Postgres refuses as jsonb (or only just takes), somewhere
    // in the event, in either mode.
    () => {
      const value = g.poison();
      const plaintext = buildEvent(
        g.pick(['meeting.started', 'meeting.participant-joined', 'meeting.updated']),
        { meetingId: String(9_000_000 + g.int(50)), msOpenId: `fuzz-${g.int(100)}` },
      );
      const poisoned = g.pick([
        () => plaintext.replace('"user_name":"caller"', `"user_name":"caller","note":${value}`),
        () => plaintext.replace('"user_name":"caller"', `"user_name":${value}`),
        () => plaintext.replace('"subject":"weekly sync"', `"subject":${value}`),
        () => plaintext.replace('"payload":[', `"payload":[${value},`),
        () => plaintext.replace(/^\{/, `{"extra":${value},`),
        // A raw NUL, which JSON does not allow in a string: a 400, kept as its data.
        () => plaintext.replace('weekly sync', 'weekly\0sync'),
        () => plaintext.replace(/"trace_id":"[^"]*"/, `"trace_id":${value}`),
        () => plaintext.replace(/"meeting_id":"\d+"/, `"meeting_id":${value}`),
      ])();
      const delivery =
        g.int(2) === 0
          ? signedDelivery(AES_TOKEN, poisoned, AES_KEY)
          : signedDelivery(PLAIN_TOKEN, poisoned);
      return {
        method: 'POST',
        url: '/webhooks/tencent-meeting',
        headers: { ...json, ...delivery.headers },
        payload: JSON.stringify({ data: delivery.data }),
      };
    },
    // Integers beyond bigint (and beyond any id) in paths and queries, as lookup and admin.
    () => {
      const n = g.hugeInteger();
      return {
        method: g.pick(['GET', 'POST', 'PUT', 'DELETE'] as const),
        url: g.pick([
          `/admin/webhook-events/${n}`,
          `/admin/webhook-events/${n}/replay`,
          `/admin/meetings/${n}`,
          `/admin/meetings/${n}/resolve`,
          `/admin/jobs/${n}/retry`,
          `/admin/cache/meetings/${n}`,
          `/admin/api-clients/${n}`,
          `/admin/webhook-events?page=${n}`,
          `/admin/webhook-events?page_size=${n}&meeting_id=${n}`,
          `/admin/meetings?page=${n}&page_size=${n}`,
          `/admin/jobs?page=${n}`,
          `/admin/api-clients?page=${n}`,
          `/admin/control-actions?page=${n}&meeting_id=${n}`,
          `/v1/meetings/${n}/pstn-participants`,
          `/v1/meetings/${n}/pstn-participants/${n}`,
          `/v1/meetings/${n}/tracked-numbers`,
          `/v1/meetings/${n}/phone/ms-open-id?wait_ms=${n}`,
        ]),
        headers: { ...json, authorization: `Bearer ${g.pick([ADMIN_TOKEN, token])}` },
        payload: JSON.stringify({ phone_numbers: [{ area: 86, phone_number: n }] }).replace(
          `"${n}"`,
          g.pick([n, `"${n}"`]),
        ),
      };
    },
    // Dates that do not exist, or that Postgres cannot hold, in every time filter.
    () => ({
      method: 'GET',
      url: `${g.pick(['/admin/meetings', '/admin/webhook-events', '/admin/control-actions'])}?${g.pick(
        ['from', 'to'],
      )}=${encodeURIComponent(g.impossibleDate())}${g.int(2) === 0 ? `&to=${encodeURIComponent(g.impossibleDate())}` : ''}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    }),
    // A NUL, percent-encoded, in path parameters and query values.
    () => {
      const nul = g.nulText();
      return {
        method: g.pick(['GET', 'POST', 'PUT', 'DELETE'] as const),
        url: g.pick([
          `/v1/meetings/1/pstn-participants/${nul}`,
          `/v1/meetings/${nul}/pstn-participants`,
          `/v1/meetings/${nul}/tracked-numbers`,
          `/v1/meetings/${nul}/pstn-events`,
          `/v1/meetings/1/pstn-participants?status=${nul}`,
          `/admin/webhook-events?event=${nul}`,
          `/admin/webhook-events?meeting_id=${nul}&status=${nul}`,
          `/admin/webhook-events/${nul}`,
          `/admin/meetings/${nul}?reveal=${nul}`,
          `/admin/api-clients/${nul}`,
          `/webhooks/tencent-meeting?check_str=${nul}`,
        ]),
        headers: { ...json, authorization: `Bearer ${g.pick([ADMIN_TOKEN, token])}` },
        payload: JSON.stringify({ phone_numbers: [{ area: 86, phone_number: '13800000000' }] }),
      };
    },
    // API bodies holding poison values, deep nesting, NUL (escaped, or raw and so not JSON).
    () => {
      const value = () =>
        g.pick([
          () => g.poison(),
          () => `${'['.repeat(2000 + g.int(20_000))}${']'.repeat(2000 + g.int(20_000))}`,
          () => JSON.stringify(`${g.text(4)}\0`),
          () => `"\0${g.text(4)}"`,
          () => g.hugeInteger(),
        ])();
      const [url, payload] = g.pick<() => [string, string]>([
        () => ['/v1/meetings/1/tracked-numbers', `{"phone_numbers":${value()}}`],
        () => [
          '/v1/meetings/1/tracked-numbers',
          `{"phone_numbers":[{"area":${value()},"phone_number":${value()}}]}`,
        ],
        () => ['/v1/meetings/1/phone/ms-open-id', `{"phone_numbers":[${value()}]}`],
        () => [
          '/v1/meetings/1/phone/ms-open-id',
          `{"operator_id":${value()},"phone_numbers":[{"area":86,"phone_number":"13800000000"}]}`,
        ],
        () => [
          '/admin/api-clients',
          `{"name":${value()},"scopes":${g.pick([value(), '["lookup"]'])}}`,
        ],
        () => ['/admin/api-clients', `{"name":"n","scopes":["lookup"],"extra":${value()}}`],
      ])();
      return {
        method: url.includes('tracked') ? 'PUT' : 'POST',
        url,
        headers: {
          ...json,
          authorization: `Bearer ${url.startsWith('/admin') ? ADMIN_TOKEN : token}`,
        },
        payload,
      };
    },
    // Other routes, random methods, random paths.
    () => ({
      method: g.pick(['GET', 'POST', 'PUT', 'DELETE'] as const),
      url: g.pick([
        `/v1/meetings/${g.int(1e6)}/pstn-participants?status=${encodeURIComponent(g.text(6))}`,
        `/v1/meetings/${g.int(1e6)}/tracked-numbers`,
        `/admin/meetings?page=${encodeURIComponent(g.text(4))}`,
        `/${encodeURIComponent(g.text(10))}`,
      ]),
      headers: { ...json, authorization: `Bearer ${token}` },
      payload: JSON.stringify(g.value()),
    }),
  ])();
}

it(`answers ${REQUESTS} random and mutated requests without a 5xx, and stores nothing unsigned`, async () => {
  const before = await t.db.query<{ n: string }[]>(`SELECT count(*) AS n FROM webhook_events`);
  expect(before[0].n).toBe('0');
  const g = generator(20261125);
  const serverErrors: { index: number; status: number; url: string }[] = [];
  /** The plaintexts of signed deliveries acknowledged 200: each is kept, stored or quarantined. */
  const acknowledged = new Set<string>();
  /** The `data` of signed deliveries refused as undecodable: each is kept, quarantined. */
  const quarantinedData = new Set<string>();
  /** The dedupe key of every delivery that must have been kept. */
  const keys = new Set<string>();
  const started = Date.now();
  for (let index = 0; index < REQUESTS; index++) {
    const fuzz = fuzzRequest(g);
    const res = await t.app.inject({
      method: fuzz.method,
      url: fuzz.url,
      headers: fuzz.headers,
      payload: fuzz.payload,
    });
    if (res.statusCode >= 500) serverErrors.push({ index, status: res.statusCode, url: fuzz.url });
    if (fuzz.method === 'POST' && fuzz.url === '/webhooks/tencent-meeting') {
      const secret = signingSecret(fuzz);
      if (res.statusCode === 200) {
        // Only a request signed with a configured token may ever be stored.
        expect(secret !== null, `request ${index}`).toBe(true);
        const { data } = JSON.parse(fuzz.payload ?? '') as { data: string };
        const plaintext = decodeWebhookData(data, secret!);
        acknowledged.add(storable(plaintext));
        keys.add(dedupeKey(data, plaintext));
      } else if (
        secret &&
        ['undecodable_data', 'malformed_event'].includes(res.json<ErrorAnswer>().error.code)
      ) {
        const { data } = JSON.parse(fuzz.payload ?? '') as { data: string };
        quarantinedData.add(storable(data));
        keys.add(`sha256:${sha256(data)}`);
      }
    }
  }
  expect(serverErrors).toEqual([]);
  const stored = await t.db.query<{ status: string; raw: string | null; dedupe_key: string }[]>(
    `SELECT status, raw, dedupe_key FROM webhook_events`,
  );
  const quarantined = stored.filter((row) => row.status === 'quarantined');
  // Every delivery kept is one that a configured token signed, and each of those was kept (a
  // redelivery of the same key once): the rows' keys are exactly theirs.
  expect(new Set(stored.map((row) => row.dedupe_key))).toEqual(keys);
  // A quarantined row holds the data of a signed delivery that did not decode, or the
  // plaintext of one acknowledged (which Postgres could not hold as jsonb).
  expect(
    quarantined.filter(
      (row) => !quarantinedData.has(row.raw ?? '') && !acknowledged.has(row.raw ?? ''),
    ),
  ).toEqual([]);
  const quarantinedRaws = new Set(quarantined.map((row) => row.raw));
  expect([...quarantinedData].filter((data) => !quarantinedRaws.has(data))).toEqual([]);
  // The new classes were met: poison kept as text beside the undecodable deliveries, and
  // ordinary deliveries stored as usual.
  expect(quarantined.length).toBeGreaterThan(quarantinedData.size);
  expect(stored.length).toBeGreaterThan(quarantined.length);
  console.log(
    `fuzz: ${REQUESTS} requests in ${Date.now() - started} ms; ${stored.length} kept, ${quarantined.length} quarantined`,
  );
  // Still serving.
  expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
});
