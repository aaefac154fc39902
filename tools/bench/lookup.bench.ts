import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import {
  apiToken,
  failOn,
  printTable,
  runLoad,
  saveResult,
  seedMappings,
  combineRuns,
  type LoadRequest,
  type LoadResult,
  type SeededMapping,
} from './bench-kit';
import {
  dropRedisKeys,
  freePort,
  freshDatabase,
  NODE_RUNTIME_OPTIONS,
  runKeyPrefix,
  SERVICE_SCRIPT,
  serviceEnv,
  startNode,
  stop,
} from '../service-process';

/**
 * Lookups: authenticated cache-hit ms-open-id lookups over 10,000 preloaded mappings through the
 * full service, beside bare Fastify + ioredis doing one GET per request; then the service again
 * with Redis stopped (answers from Postgres).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/**
 * Twelve 5 s turns each: on this machine one turn's ratio ranges 0.7-1.3x within a run, as its
 * speed drifts between turns (shorter turns spread wider still: 0.66-1.52x for 2.5 s), so the
 * mean of six turns could still land 0.05 either side of the truth.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
/**
 * Until both run at their steady speed: after the warm-up requests (which fill the cache from
 * Postgres) and 5 s of load, the service's first two 4-5 s turns were its slowest in three runs
 * of 2026-12-08 (60-68 us of CPU a lookup, against 41-56 in most later turns).
 */
const WARMUP_SECONDS = 15;
const MEETINGS = 1000;
const NUMBERS_PER_MEETING = 10;
const ROOT = join(__dirname, '../../..');

function mappings(): SeededMapping[] {
  const all: SeededMapping[] = [];
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

function lookupRequests(all: SeededMapping[], token: string): LoadRequest[] {
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
async function warm(port: number, requests: LoadRequest[], all: SeededMapping[]): Promise<void> {
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

export interface LookupResult {
  baseline: LoadResult;
  service: LoadResult;
  /** The service with Redis stopped, answering from Postgres. */
  fallback: LoadResult;
  /** Service (cache hits) req/s over baseline req/s. */
  ratio: number;
  problems: string[];
}

export async function runLookup(): Promise<LookupResult> {
  const all = mappings();
  const redis = new Redis('redis://127.0.0.1:6379/0');
  const prefix = runKeyPrefix('bench');

  const basePort = await freePort();
  await redis.mset(
    all.flatMap((m) => [
      `${prefix}base:${m.meetingId}:86:${m.phoneNumber}`,
      JSON.stringify({ area: 86, phone_number: Number(m.phoneNumber), ms_open_id: m.msOpenId }),
    ]),
  );
  const baselineServer = await startNode(
    join(__dirname, 'baseline-lookup-server.js'),
    {
      PORT: String(basePort),
      BASELINE_PREFIX: `${prefix}base:`,
      NODE_OPTIONS: NODE_RUNTIME_OPTIONS,
    },
    basePort,
  );
  const requests = lookupRequests(all, 'unused-by-the-baseline');
  await runLoad('baseline warm-up', basePort, requests, WARMUP_SECONDS);
  redis.disconnect();

  const databaseUrl = await freshDatabase('pstn_tracker_bench_lookup');
  const port = await freePort();
  const service = await startNode(
    SERVICE_SCRIPT,
    serviceEnv(port, databaseUrl, { REDIS_KEY_PREFIX: prefix }),
    port,
  );
  try {
    await seedMappings(databaseUrl, all);
    const serviceRequests = lookupRequests(all, await apiToken(port));
    await warm(port, serviceRequests, all);
    await runLoad('service warm-up', port, serviceRequests, WARMUP_SECONDS);
    // Baseline and service take turns (the idle one waits): the speed of a shared machine
    // drifts within minutes, and alternating makes the drift weigh on both alike. Who goes
    // first alternates too (baseline, service, service, baseline, ...), so a drift in one
    // direction favours neither.
    const baselineRuns: LoadResult[] = [];
    const hitRuns: LoadResult[] = [];
    const baselineTurn = async () =>
      baselineRuns.push(
        await runLoad(
          'bare Fastify + ioredis (baseline)',
          basePort,
          requests,
          SECONDS,
          baselineServer.pid,
        ),
      );
    const serviceTurn = async () =>
      hitRuns.push(
        await runLoad(
          'pstn-tracker lookup (cache hits)',
          port,
          serviceRequests,
          SECONDS,
          service.pid,
        ),
      );
    for (let round = 0; round < ROUNDS; round += 1) {
      const [first, second] =
        round % 2 === 0 ? [baselineTurn, serviceTurn] : [serviceTurn, baselineTurn];
      await first();
      await second();
      console.log(
        `baseline ${baselineRuns[round].requestsPerSecond} req/s (${baselineRuns[round].cpuUs} us CPU a request), ` +
          `service ${hitRuns[round].requestsPerSecond} req/s (${hitRuns[round].cpuUs} us)`,
      );
    }
    const baseline = combineRuns(baselineRuns);
    const hits = combineRuns(hitRuns);
    // The baseline has no fallback: stopped first, it cannot flood the output with
    // connection errors while Redis is down.
    await stop(baselineServer);

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
    return {
      baseline,
      service: hits,
      fallback,
      ratio: hits.requestsPerSecond / baseline.requestsPerSecond,
      problems: hits.non2xx + fallback.non2xx > 0 ? ['the service answered non-2xx'] : [],
    };
  } finally {
    await stop(baselineServer);
    await stop(service);
    await dropRedisKeys(prefix);
  }
}

async function main(): Promise<void> {
  const result = await runLookup();
  printTable(
    `Lookups, ${ROUNDS} rounds of ${SECONDS} s, 50 connections, ${MEETINGS * NUMBERS_PER_MEETING} mappings`,
    [result.baseline, result.service, result.fallback],
  );
  console.log(
    `\nratio (service / baseline): ${result.ratio.toFixed(2)}x  (target >= 0.9x, p99 <= 10 ms)`,
  );
  saveResult('lookup', result);
  failOn(result.problems);
}

if (require.main === module) void main();
