import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClientsService } from '../../src/auth/api-clients.service';
import {
  AES_KEY,
  AES_TOKEN,
  PLAIN_TOKEN,
  startTestApp,
  testEnv,
  type TestApp,
} from '../support/test-app';
import { createTestDatabase, dropTestDatabase } from '../support/test-database';
import { computeWebhookSignature } from '../../src/webhook/webhook-signature';
import { sign, signedDelivery } from '../../tools/webhook-delivery';
import { buildEvent } from '../support/webhook-fixtures';

const REQUESTS = 10_000;

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
  return { int, pick, text, value, mutate };
}

interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/**
 * Whether a configured token signed this delivery, as HTTP and Tencent read it: header values
 * without surrounding whitespace, the hex signature in either case.
 */
function signedByConfiguredToken(fuzz: FuzzRequest): boolean {
  const header = (name: string) => fuzz.headers[name]?.trim() ?? '';
  let data: unknown;
  try {
    data = (JSON.parse(fuzz.payload ?? '') as { data?: unknown }).data;
  } catch {
    return false;
  }
  return (
    typeof data === 'string' &&
    [PLAIN_TOKEN, AES_TOKEN].some(
      (token) =>
        computeWebhookSignature(token, header('timestamp'), header('nonce'), data) ===
        header('signature').toLowerCase(),
    )
  );
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
  let storedBySignedRequests = 0;
  /** The `data` of signed deliveries refused as undecodable: each is kept, quarantined. */
  const quarantinedData = new Set<string>();
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
      const signed = signedByConfiguredToken(fuzz);
      if (res.statusCode === 200) {
        // Only a request signed with a configured token may ever be stored.
        expect(signed, `request ${index}`).toBe(true);
        storedBySignedRequests += 1;
      } else if (
        signed &&
        ['undecodable_data', 'malformed_event'].includes(res.json<ErrorAnswer>().error.code)
      ) {
        // Kept as text, which cannot hold NUL: it is written as its JSON escape.
        const { data } = JSON.parse(fuzz.payload ?? '') as { data: string };
        quarantinedData.add(data.replaceAll('\0', '\\u0000'));
      }
    }
  }
  expect(serverErrors).toEqual([]);
  const stored = await t.db.query<{ status: string; raw: string | null }[]>(
    `SELECT status, raw FROM webhook_events`,
  );
  expect(stored.filter((row) => row.status !== 'quarantined')).toHaveLength(storedBySignedRequests);
  const quarantined = stored.filter((row) => row.status === 'quarantined');
  expect(new Set(quarantined.map((row) => row.raw))).toEqual(quarantinedData);
  // Still serving.
  expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
});
