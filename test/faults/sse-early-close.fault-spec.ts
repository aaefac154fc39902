import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, NODE_RUNTIME_FLAGS, NODE_RUNTIME_OPTIONS } from '../../tools/service-process';
import { metricValue } from '../support/metrics';
import { writeAndDrop } from '../support/raw-http';
import { ADMIN_TOKEN, testSettings } from '../support/test-app';
import { compileProject, startCompiled, stopProcess } from '../support/compiled-build';
import { createTestDatabase, dropTestDatabase } from '../support/test-database';
import { inParallel } from './scenario';
import { testKeyPrefix } from '../support/test-redis';

/**
 * Issue 13, item 1, against the compiled service as production runs it (its own process, a
 * 128 MB heap): a lookup client that opens participant event streams and closes each at once.
 * Before the fix, each such stream stayed subscribed with its heartbeat running, ~10 KB apiece,
 * until about 12,000 of them (20 s from one token) exhausted the heap.
 */

const EARLY_CLOSED = 2000;
/** Twice the scenario: the first thousands grow the heap and the allocator to working size. */
const WARM_UP = 4000;
/** What the issue allows the process's resident memory to grow by. */
const RSS_SLACK_BYTES = 20 * 1024 * 1024;

/** The service compiled on its own, so other builds in the repository cannot disturb it. */
let outDir: string;
let databaseUrl: string;
let port: number;
let service: ChildProcess | undefined;

beforeAll(async () => {
  outDir = compileProject();
  databaseUrl = await createTestDatabase();
  port = await freePort();
  // As `npm run start:prod` runs it: the heap the issue saw exhausted.
  service = await startCompiled(
    outDir,
    'src/main.js',
    testSettings(databaseUrl, {
      PORT: String(port),
      REDIS_KEY_PREFIX: testKeyPrefix(`sse-early-close:${port}`),
      LOG_LEVEL: 'warn',
      SCHEDULER_ENABLED: 'false',
    }),
    `http://127.0.0.1:${port}/health/ready`,
    [...NODE_RUNTIME_OPTIONS.split(' '), ...NODE_RUNTIME_FLAGS],
  );
}, 180_000);

afterAll(async () => {
  await stopProcess(service);
  await dropTestDatabase(databaseUrl);
  rmSync(outDir, { recursive: true, force: true });
});

const base = () => `http://127.0.0.1:${port}`;
const subscribers = async () =>
  metricValue(await (await fetch(`${base()}/metrics`)).text(), 'pstn_sse_subscribers');
/** The service's resident set, in bytes, as the kernel counts it. */
const rss = () => {
  const line = readFileSync(`/proc/${service?.pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+) kB/.exec(line ?? '')?.[1]) * 1024;
};

/** `count` event stream requests with `token`, each dropped as soon as it is written. */
async function dropStreams(token: string, count: number): Promise<void> {
  await inParallel(
    Array.from({ length: count }, (_, i) => i),
    // Below the per-client cap of 50 streams, so each one is admitted and opened.
    25,
    (i) =>
      writeAndDrop(
        port,
        `GET /v1/meetings/${20_261_125 + (i % 10)}/pstn-events HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Authorization: Bearer ${token}\r\n` +
          (i % 2 === 0 ? 'Last-Event-ID: 1-0\r\n' : '') +
          '\r\n',
      ),
  );
}

/**
 * Waits until the gauge has read 0 for a second on end: a request still being authenticated
 * when the last one was written opens (and at once closes) its stream a moment later.
 */
async function settled(): Promise<void> {
  const deadline = Date.now() + 15_000;
  let zeros = 0;
  while (zeros < 5) {
    zeros = (await subscribers()) === 0 ? zeros + 1 : 0;
    if (Date.now() > deadline) throw new Error(`${await subscribers()} streams still open`);
    await sleep(200);
  }
}

it(`leaves no subscriber and the memory flat after ${EARLY_CLOSED} early-closed streams`, async () => {
  const created = await fetch(`${base()}/admin/api-clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'early-closer', scopes: ['lookup'] }),
  });
  expect(created.status).toBe(201);
  const { token } = (await created.json()) as { token: string };

  // Warm up (code compiled, pools and buffers grown), so that the baseline is taken warm.
  await dropStreams(token, WARM_UP);
  await settled();
  await sleep(1000);
  const before = rss();

  await dropStreams(token, EARLY_CLOSED);
  await settled();
  expect(await subscribers()).toBe(0);
  // Give the collector a moment over what is garbage now, as a service at rest would.
  await sleep(2000);
  const after = rss();
  console.log(`RSS ${(before / 2 ** 20).toFixed(1)} MB -> ${(after / 2 ** 20).toFixed(1)} MB`);
  expect(after - before).toBeLessThan(RSS_SLACK_BYTES);

  // Still serving streams: one opens, is counted, and is uncounted when it closes.
  const controller = new AbortController();
  const stream = await fetch(`${base()}/v1/meetings/1/pstn-events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  expect(stream.status).toBe(200);
  expect(await subscribers()).toBe(1);
  controller.abort();
  await settled();
  expect(service?.exitCode).toBe(null);
});
