import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  failOn,
  printTable,
  runLoad,
  saveResult,
  combineRuns,
  signedWebhook,
  type LoadRequest,
  type LoadResult,
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
 * Webhook intake: signed, AES-encrypted ~1 KB events with distinct trace_ids, 50 connections,
 * against the full service and against bare Fastify + pg (one INSERT per request).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
/**
 * Baseline and service take turns this many times: the speed of a shared machine drifts by
 * 10-30% within minutes, and alternating makes the drift weigh on both alike.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/**
 * Enough distinct events that few repeat within a run at ~12k req/s; a run that sends them all
 * goes round again, and the repeats are redeliveries (acknowledged, deduplicated).
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 160_000);

function buildDeliveries(count: number): LoadRequest[] {
  const padding = 'x'.repeat(420);
  return Array.from({ length: count }, (_, i) =>
    signedWebhook(
      JSON.stringify({
        event: 'meeting.participant-joined',
        trace_id: randomUUID(),
        payload: [
          {
            operate_time: Date.now(),
            operator: {
              userid: '',
              uuid: '',
              ms_open_id: `bench-${i}`,
              user_name: 'caller',
              instance_id: '1',
            },
            meeting_info: {
              meeting_id: String(10_000_000_000 + (i % 500)),
              meeting_code: '445999969',
              subject: `benchmark meeting ${padding}`,
              creator: { userid: 'host', ms_open_id: 'host-id', user_name: 'host' },
              meeting_type: 0,
              start_time: 1608522626,
              end_time: 1609415039,
            },
          },
        ],
      }),
    ),
  );
}

async function measure(
  name: string,
  script: string,
  env: Record<string, string>,
  port: number,
  deliveries: LoadRequest[],
) {
  const child = await startNode(script, env, port);
  try {
    const split = Math.floor(deliveries.length / 6);
    const warmup = await runLoad(
      `${name} warm-up`,
      port,
      deliveries.slice(0, split),
      WARMUP_SECONDS,
    );
    const result = await runLoad(name, port, deliveries.slice(split), SECONDS, child.pid);
    // The distinct events acknowledged: a slice sent round again adds redeliveries only.
    const distinct = Math.min(warmup.ok, split) + Math.min(result.ok, deliveries.length - split);
    return { ...result, acknowledged: distinct };
  } finally {
    await stop(child);
  }
}

export interface IntakeResult {
  baseline: LoadResult;
  service: LoadResult;
  /** Service req/s over baseline req/s. */
  ratio: number;
  problems: string[];
}

/** The baseline and the service in turn, each on a fresh database. */
async function round(deliveries: LoadRequest[], problems: string[]) {
  const baselineUrl = await freshDatabase('pstn_tracker_bench_baseline');
  const basePort = await freePort();
  const baseline = await measure(
    'bare Fastify + pg (baseline)',
    join(__dirname, 'baseline-intake-server.js'),
    { PORT: String(basePort), DATABASE_URL: baselineUrl, NODE_OPTIONS: NODE_RUNTIME_OPTIONS },
    basePort,
    deliveries,
  );

  const serviceUrl = await freshDatabase('pstn_tracker_bench_intake');
  const port = await freePort();
  const prefix = runKeyPrefix('bench');
  const service = await measure(
    'pstn-tracker intake',
    SERVICE_SCRIPT,
    serviceEnv(port, serviceUrl, { REDIS_KEY_PREFIX: prefix }),
    port,
    deliveries,
  );
  await dropRedisKeys(prefix);

  const client = new Client({ connectionString: serviceUrl });
  await client.connect();
  const stored = Number(
    (await client.query<{ n: string }>('SELECT count(*) AS n FROM webhook_events')).rows[0].n,
  );
  await client.end();
  console.log(
    `baseline ${baseline.requestsPerSecond} req/s, service ${service.requestsPerSecond} req/s; ` +
      `distinct events acknowledged: ${service.acknowledged}, stored: ${stored}`,
  );
  if (service.non2xx > 0) problems.push('the service answered non-2xx');
  if (stored < service.acknowledged) problems.push('the service lost an acknowledged event');
  return { baseline, service };
}

export async function runIntake(): Promise<IntakeResult> {
  console.log(`building ${EVENTS} signed, encrypted events...`);
  const deliveries = buildDeliveries(EVENTS);
  console.log(`body size: ${deliveries[0].body?.length} bytes`);
  const problems: string[] = [];
  const rounds = [];
  for (let i = 0; i < ROUNDS; i += 1) rounds.push(await round(deliveries, problems));
  const baseline = combineRuns(rounds.map((r) => r.baseline));
  const service = combineRuns(rounds.map((r) => r.service));
  return {
    baseline,
    service,
    ratio: service.requestsPerSecond / baseline.requestsPerSecond,
    problems,
  };
}

async function main(): Promise<void> {
  const result = await runIntake();
  printTable(`Webhook intake, ${ROUNDS} rounds of ${SECONDS} s, 50 connections`, [
    result.baseline,
    result.service,
  ]);
  console.log(
    `\nratio (service / baseline): ${result.ratio.toFixed(2)}x  (target >= 1.0x, p99 <= 100 ms)`,
  );
  saveResult('intake', result);
  failOn(result.problems);
}

if (require.main === module) void main();
