import { Client } from 'pg';
import { buildTencentHeaders } from '../../src/tencent/tencent-request-signer';
import { FakeTencentServer } from '../fake-tencent/fake-tencent-server';
import {
  apiToken,
  failOn,
  meetingEvent,
  percentile,
  saveResult,
  signedWebhook,
  startServiceWithFakeTencent,
  type LoadRequest,
} from './bench-kit';
import { DEV_SECRETS } from '../service-process';

/**
 * Join -> resolved: time from posting a phone caller's join webhook (its number registered
 * beforehand) until its mapping is in Postgres, with the fake Tencent answering in 50 ms.
 * Joins arrive at a steady rate that Tencent's 300 calls/min allows (4/s by default).
 */
const MEETINGS = 20;
const CALLERS_PER_MEETING = 10;
const JOINS_PER_SECOND = Number(process.env.BENCH_JOINS_PER_SECOND ?? 4);
const UPSTREAM_LATENCY_MS = 50;

export interface ResolveResult {
  callers: number;
  resolved: number;
  /** Join -> mapping stored, ms. */
  p50: number;
  p95: number;
  max: number;
  upstreamCallsPerMeeting: number;
  upstreamCallsMaxPerMeeting: number;
  rateLimited: number;
  /** One upstream call alone (p95, ms): what a join -> resolved can never beat. */
  baselineP95: number;
  problems: string[];
}

export async function runResolve(): Promise<ResolveResult> {
  const { fake, databaseUrl, port, close } = await startServiceWithFakeTencent(
    'pstn_tracker_bench_resolve',
    UPSTREAM_LATENCY_MS,
  );
  const post = async (request: LoadRequest) => {
    const res = await fetch(`http://127.0.0.1:${port}${request.path}`, request);
    if (!res.ok) throw new Error(`${request.path} answered ${res.status}`);
  };
  try {
    const token = await apiToken(port);
    const meetings = Array.from({ length: MEETINGS }, (_, m) => String(30_000_000_000 + m));
    for (const meetingId of meetings) {
      await post(signedWebhook(meetingEvent('meeting.started', meetingId)));
    }
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the starts are applied
    for (const [m, meetingId] of meetings.entries()) {
      await post({
        method: 'PUT',
        path: `/v1/meetings/${meetingId}/tracked-numbers`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          phone_numbers: Array.from({ length: CALLERS_PER_MEETING }, (_, c) => ({
            area: 86,
            phone_number: number(m, c),
          })),
        }),
      });
    }

    const sentAt = new Map<string, number>();
    for (let c = 0; c < CALLERS_PER_MEETING; c += 1) {
      for (const [m, meetingId] of meetings.entries()) {
        const msOpenId = `caller-${m}-${c}`;
        fake.connect(meetingId, 86, String(number(m, c)), msOpenId);
        sentAt.set(msOpenId, Date.now());
        void post(
          signedWebhook(meetingEvent('meeting.participant-joined', meetingId, { msOpenId })),
        );
        await new Promise((resolve) => setTimeout(resolve, 1000 / JOINS_PER_SECOND));
      }
    }

    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const total = MEETINGS * CALLERS_PER_MEETING;
    let rows: { ms_open_id: string; resolved_at: Date }[] = [];
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      rows = (
        await db.query<{ ms_open_id: string; resolved_at: Date }>(
          'SELECT ms_open_id, resolved_at FROM ms_open_id_mappings',
        )
      ).rows;
      if (rows.length >= total) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await db.end();

    const latencies = rows
      .map((row) => row.resolved_at.getTime() - (sentAt.get(row.ms_open_id) ?? 0))
      .sort((a, b) => a - b);
    const calls = meetings.map((meetingId) => fake.callsFor(meetingId));
    const problems: string[] = [];
    if (rows.length < total) problems.push(`${total - rows.length} callers were not resolved`);
    if (fake.badSignatureCount > 0) problems.push('the fake Tencent saw badly signed requests');
    return {
      callers: total,
      resolved: rows.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      max: latencies[latencies.length - 1],
      upstreamCallsPerMeeting: calls.reduce((a, b) => a + b, 0) / calls.length,
      upstreamCallsMaxPerMeeting: Math.max(...calls),
      rateLimited: fake.rateLimitedCount,
      baselineP95: await upstreamAlone(),
      problems,
    };
  } finally {
    await close();
  }
}

/** The floor: p95 of one signed ms-open-id call made straight to a fake Tencent, in ms. */
async function upstreamAlone(): Promise<number> {
  const fake = new FakeTencentServer({
    secretId: DEV_SECRETS.TENCENT_SECRET_ID,
    secretKey: DEV_SECRETS.TENCENT_SECRET_KEY,
    appId: DEV_SECRETS.TENCENT_APP_ID,
  });
  fake.setLatency(UPSTREAM_LATENCY_MS);
  const baseUrl = await fake.start();
  const credentials = {
    secretId: DEV_SECRETS.TENCENT_SECRET_ID,
    secretKey: DEV_SECRETS.TENCENT_SECRET_KEY,
    appId: DEV_SECRETS.TENCENT_APP_ID,
  };
  const requestUri = '/v1/meetings/30000000000/phone/ms-open-id';
  const body = JSON.stringify({
    operator_id: DEV_SECRETS.TENCENT_OPERATOR_ID,
    operator_id_type: 1,
    phone_numbers: [{ area: 86, phone_number: number(0, 0) }],
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < 40; i += 1) {
      const started = performance.now();
      const headers = buildTencentHeaders(credentials, { method: 'POST', requestUri, body });
      const res = await fetch(`${baseUrl}${requestUri}`, { method: 'POST', headers, body });
      if (!res.ok) throw new Error(`the fake Tencent answered ${res.status}`);
      await res.arrayBuffer();
      times.push(performance.now() - started);
    }
  } finally {
    await fake.close();
  }
  return Math.round(
    percentile(
      times.sort((a, b) => a - b),
      95,
    ),
  );
}

async function main(): Promise<void> {
  const result = await runResolve();
  console.log(
    `\nJoin -> mapping stored, ${result.callers} callers over ${MEETINGS} meetings, ${JOINS_PER_SECOND} joins/s, upstream ${UPSTREAM_LATENCY_MS} ms`,
  );
  console.log(
    '| resolved | p50 ms | p95 ms | max ms | upstream calls per meeting (mean / max) | one upstream call alone, p95 ms |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${result.resolved}/${result.callers} | ${result.p50} | ${result.p95} | ${result.max} | ${result.upstreamCallsPerMeeting.toFixed(1)} / ${result.upstreamCallsMaxPerMeeting} | ${result.baselineP95} |`,
  );
  console.log(`\ntarget: p95 <= 150 ms; rate-limited answers: ${result.rateLimited}`);
  saveResult('resolve', result);
  failOn(result.problems);
}

function number(meeting: number, caller: number): number {
  return 13_800_000_000 + meeting * 100 + caller;
}

if (require.main === module) void main();
