import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import {
  apiToken,
  freePort,
  freshDatabase,
  printTable,
  runLoad,
  saveResult,
  SERVICE_SCRIPT,
  serviceEnv,
  startNode,
  stop,
  type LoadRequest,
} from './bench-kit';

/**
 * Lookups: authenticated cache-hit ms-open-id lookups over 10,000 preloaded mappings through the
 * full service, beside bare Fastify + ioredis doing one GET per request; then the service again
 * with Redis stopped (answers from Postgres).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MEETINGS = 1000;
const NUMBERS_PER_MEETING = 10;
const ROOT = join(__dirname, '../..');

interface Mapping {
  meetingId: string;
  phoneNumber: string;
  msOpenId: string;
}

function mappings(): Mapping[] {
  const all: Mapping[] = [];
  for (let m = 0; m < MEETINGS; m += 1) {
    for (let n = 0; n < NUMBERS_PER_MEETING; n += 1) {
      all.push({
        meetingId: String(20_000_000_000 + m),
        phoneNumber: String(13_900_000_000 + m * NUMBERS_PER_MEETING + n),
        msOpenId: `ms-${m}-${n}`,
      });
    }
  }
  return all;
}

async function preload(databaseUrl: string, all: Mapping[]): Promise<void> {
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
  await db.end();
}

function lookupRequests(all: Mapping[], token: string): LoadRequest[] {
  return all.map((m) => ({
    method: 'POST',
    path: `/v1/meetings/${m.meetingId}/phone/ms-open-id`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      operator_id: 'op',
      operator_id_type: 1,
      phone_numbers: [{ area: 86, phone_number: Number(m.phoneNumber) }],
    }),
  }));
}

/** Sends every request once, 50 at a time, and checks each answer names the expected id. */
async function warm(port: number, requests: LoadRequest[], all: Mapping[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 50) {
    await Promise.all(
      requests.slice(i, i + 50).map(async (request, j) => {
        const res = await fetch(`http://127.0.0.1:${port}${request.path}`, request);
        const body = (await res.json()) as { ms_open_id_list: { ms_open_id: string }[] };
        if (body.ms_open_id_list?.[0]?.ms_open_id !== all[i + j].msOpenId) {
          throw new Error(`wrong answer for request ${i + j}: ${JSON.stringify(body)}`);
        }
      }),
    );
  }
}

function restartRedis(): void {
  execFileSync('bash', [join(ROOT, 'scripts/ensure-services.sh')], { stdio: 'inherit' });
}

async function main(): Promise<void> {
  const all = mappings();
  const redis = new Redis('redis://127.0.0.1:6379/0');
  const prefix = `bench:${randomBytes(3).toString('hex')}:`;

  const basePort = await freePort();
  await redis.mset(
    all.flatMap((m) => [
      `${prefix}base:${m.meetingId}:86:${m.phoneNumber}`,
      JSON.stringify({ area: 86, phone_number: Number(m.phoneNumber), ms_open_id: m.msOpenId }),
    ]),
  );
  const baselineServer = await startNode(
    join(__dirname, 'baseline-lookup-server.js'),
    { PORT: String(basePort), BASELINE_PREFIX: `${prefix}base:` },
    basePort,
  );
  const requests = lookupRequests(all, 'unused-by-the-baseline');
  await runLoad('baseline warm-up', basePort, requests, 2);
  const baseline = await runLoad('bare Fastify + ioredis (baseline)', basePort, requests, SECONDS);
  await stop(baselineServer);

  const databaseUrl = await freshDatabase('pstn_tracker_bench_lookup');
  const port = await freePort();
  const service = await startNode(
    SERVICE_SCRIPT,
    serviceEnv(port, databaseUrl, { REDIS_KEY_PREFIX: prefix }),
    port,
  );
  try {
    await preload(databaseUrl, all);
    const serviceRequests = lookupRequests(all, await apiToken(port));
    await warm(port, serviceRequests, all);
    await runLoad('service warm-up', port, serviceRequests, 2);
    const hits = await runLoad('pstn-tracker lookup (cache hits)', port, serviceRequests, SECONDS);

    execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'shutdown', 'nosave']);
    let fallback;
    try {
      fallback = await runLoad(
        'pstn-tracker lookup, Redis stopped (Postgres)',
        port,
        serviceRequests,
        SECONDS,
      );
    } finally {
      restartRedis();
    }

    printTable(`Lookups, ${SECONDS} s, 50 connections, ${all.length} mappings`, [
      baseline,
      hits,
      fallback,
    ]);
    const ratio = hits.requestsPerSecond / baseline.requestsPerSecond;
    console.log(
      `\nratio (service / baseline): ${ratio.toFixed(2)}x  (target >= 0.9x, p99 <= 10 ms)`,
    );
    saveResult('lookup', { baseline, service: hits, fallback, ratio });
    if (hits.non2xx > 0 || fallback.non2xx > 0) {
      console.error('FAIL: the service answered non-2xx');
      process.exitCode = 1;
    }
  } finally {
    await stop(service);
    const cleanup = new Redis('redis://127.0.0.1:6379/0');
    const keys = await cleanup.keys(`${prefix}*`);
    if (keys.length > 0) await cleanup.del(...keys);
    cleanup.disconnect();
    redis.disconnect();
  }
}

void main();
