import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { FakeTencentServer } from '../fake-tencent/fake-tencent-server';
import {
  DEV_SECRETS,
  dropRedisKeys,
  freePort,
  freshDatabase,
  runKeyPrefix,
  SERVICE_SCRIPT,
  serviceEnv,
  startNode,
  stop,
} from '../service-process';
import { signedDelivery } from '../webhook-delivery';

/** Shared by the benchmarks: processes, load, databases and the result table. */

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  ok: number;
  /** CPU time the server process used per answered request, all its threads, in microseconds. */
  cpuUs?: number;
}

export interface LoadRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * autocannon with one pre-built request after another (cycling when they run out), 50
 * connections. Given the server's pid, also the server's CPU time per request: on a shared
 * machine it drifts far less than req/s, since it does not count the time the server waited.
 */
export async function runLoad(
  name: string,
  port: number,
  requests: LoadRequest[],
  seconds: number,
  serverPid?: number,
): Promise<LoadResult> {
  let next = 0;
  const cpuBefore = serverPid === undefined ? 0 : cpuMicros(serverPid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 50,
    duration: seconds,
    requests: [
      {
        setupRequest: (request) => {
          const chosen = requests[next % requests.length];
          next += 1;
          return { ...request, ...chosen, headers: { ...request.headers, ...chosen.headers } };
        },
      },
    ],
  });
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors + result.timeouts,
    ok: result['2xx'],
    cpuUs:
      serverPid === undefined
        ? undefined
        : Math.round(((cpuMicros(serverPid) - cpuBefore) / result.requests.total) * 10) / 10,
  };
}

/** Linux's USER_HZ: /proc counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** CPU time a process has used so far, user and system, all threads (Linux), in microseconds. */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
}

/** Runs of one target as one result: mean req/s and p50, the worst p99, all answers. */
export function combineRuns(runs: LoadResult[]): LoadResult {
  const mean = (pick: (run: LoadResult) => number) =>
    Math.round(runs.reduce((sum, run) => sum + pick(run), 0) / runs.length);
  return {
    name: runs[0].name,
    requestsPerSecond: mean((run) => run.requestsPerSecond),
    p50: mean((run) => run.p50),
    p99: Math.max(...runs.map((run) => run.p99)),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    ok: runs.reduce((sum, run) => sum + run.ok, 0),
    cpuUs: runs.every((run) => run.cpuUs !== undefined)
      ? Math.round((runs.reduce((sum, run) => sum + (run.cpuUs ?? 0), 0) / runs.length) * 10) / 10
      : undefined,
  };
}

/** The value below which `p` percent of the (ascending) figures lie. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Resident memory of a process now and at its peak (Linux), in MB. */
export function residentMemory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

export function printTable(title: string, rows: LoadResult[]): void {
  console.log(`\n${title}`);
  console.log('| target | req/s | p50 ms | p99 ms | non-2xx | server CPU us/request |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${row.requestsPerSecond} | ${row.p50} | ${row.p99} | ${row.non2xx} | ${row.cpuUs ?? '-'} |`,
    );
  }
}

/** Keeps the figures for `npm run bench`, which prints them all in one table. */
export function saveResult(name: string, result: unknown): void {
  const dir = join(__dirname, '../../../tools/bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(result, null, 2));
}

/** A webhook delivery as Tencent sends it in AES mode: encrypted, base64, signed. */
export function signedWebhook(plaintext: string): LoadRequest {
  const { headers, data } = signedDelivery(
    DEV_SECRETS.TENCENT_WEBHOOK_TOKEN,
    plaintext,
    DEV_SECRETS.TENCENT_WEBHOOK_AES_KEY,
  );
  return {
    method: 'POST',
    path: '/webhooks/tencent-meeting',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ data }),
  };
}

/** Creates an API client through the admin route and answers its token. */
export async function apiToken(port: number, scopes: string[] = ['lookup']): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/admin/api-clients`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${DEV_SECRETS.ADMIN_TOKEN}`,
    },
    body: JSON.stringify({ name: 'bench', scopes }),
  });
  return ((await res.json()) as { token: string }).token;
}

/** A Tencent event with one item: the meeting's own (host), or a phone caller's (instance 0). */
export function meetingEvent(
  name: string,
  meetingId: string,
  caller?: { msOpenId: string; pstnNumber?: string },
): string {
  return JSON.stringify({
    event: name,
    trace_id: randomUUID(),
    payload: [
      {
        operate_time: Date.now(),
        operator: {
          ms_open_id: caller?.msOpenId ?? 'host-id',
          user_name: 'caller',
          instance_id: caller ? '0' : '1',
          ...(caller?.pstnNumber ? { pstn_number: caller.pstnNumber } : {}),
        },
        meeting_info: {
          meeting_id: meetingId,
          meeting_code: '445999969',
          subject: 'bench',
          start_time: Math.floor(Date.now() / 1000),
        },
      },
    ],
  });
}

export interface SeededMapping {
  meetingId: string;
  phoneNumber: string;
  msOpenId: string;
}

/** Writes mappings straight into Postgres (area 86), as if each caller had joined and resolved. */
export async function seedMappings(databaseUrl: string, all: SeededMapping[]): Promise<void> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const meetings = [...new Set(all.map((m) => m.meetingId))];
  await db.query(
    `INSERT INTO meetings (meeting_id, status, started_at) SELECT unnest($1::text[]), 'started', now()`,
    [meetings],
  );
  const columns = [
    all.map((m) => m.meetingId),
    all.map((m) => m.msOpenId),
    all.map((m) => m.phoneNumber),
  ];
  await db.query(
    `INSERT INTO pstn_participants (meeting_id, ms_open_id, status, joined_at, last_operate_time)
     SELECT m, o, 'connected', now(), now() FROM unnest($1::text[], $2::text[]) AS t(m, o)`,
    columns.slice(0, 2),
  );
  await db.query(
    `INSERT INTO ms_open_id_mappings (meeting_id, ms_open_id, area, phone_number)
     SELECT m, o, '86', p FROM unnest($1::text[], $2::text[], $3::text[]) AS t(m, o, p)`,
    columns,
  );
  await db.query(
    `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source)
     SELECT m, '86', p, 'api' FROM unnest($1::text[], $2::text[]) AS t(m, p)`,
    [columns[0], columns[2]],
  );
  // Statistics, as autovacuum keeps them on a database that grew by itself (it may be off here).
  await db.query('ANALYZE');
  await db.end();
}

/** Prints what went wrong in a run and makes the process exit non-zero. */
export function failOn(problems: string[]): void {
  for (const problem of problems) console.error(`FAIL: ${problem}`);
  if (problems.length > 0) process.exitCode = 1;
}

/**
 * The fake Tencent (its per-minute limit on, answering in `latencyMs`) and the compiled service
 * pointed at it, on a fresh database and Redis keys of its own; `close` stops both and drops the
 * keys.
 */
export async function startServiceWithFakeTencent(
  databaseName: string,
  latencyMs: number,
): Promise<{
  fake: FakeTencentServer;
  databaseUrl: string;
  port: number;
  service: ChildProcess;
  close: () => Promise<void>;
}> {
  const fake = new FakeTencentServer({
    secretId: DEV_SECRETS.TENCENT_SECRET_ID,
    secretKey: DEV_SECRETS.TENCENT_SECRET_KEY,
    appId: DEV_SECRETS.TENCENT_APP_ID,
    ratePerMinute: 300,
  });
  fake.setLatency(latencyMs);
  const databaseUrl = await freshDatabase(databaseName);
  const port = await freePort();
  const prefix = runKeyPrefix('bench');
  const service = await startNode(
    SERVICE_SCRIPT,
    serviceEnv(port, databaseUrl, {
      TENCENT_API_BASE_URL: await fake.start(),
      REDIS_KEY_PREFIX: prefix,
    }),
    port,
  );
  const close = async () => {
    await stop(service);
    await fake.close();
    await dropRedisKeys(prefix);
  };
  return { fake, databaseUrl, port, service, close };
}
