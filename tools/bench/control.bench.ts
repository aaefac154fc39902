import { Client } from 'pg';
import { buildTencentHeaders } from '../../src/tencent/tencent-request-signer';
import { FakeTencentServer } from '../fake-tencent/fake-tencent-server';
import { DEV_SECRETS } from '../service-process';
import {
  apiToken,
  failOn,
  meetingEvent,
  percentile,
  saveResult,
  seedMappings,
  signedWebhook,
  startServiceWithFakeTencent,
} from './bench-kit';

/**
 * Acting on phone callers by number, the fake Tencent answering in 50 ms:
 * - mute by number for callers connected and resolved beforehand: the action's latency beside
 *   one signed mutes call made straight to a fake Tencent (target p95 <= 1.3x);
 * - a mute by number waiting for a caller who has not dialled in: the time from the caller's
 *   join webhook to the action's `done`, beyond the two upstream calls it needs (the number's
 *   ms-open-id, then the mute), target p95 <= 150 ms.
 * Requests go one after the other, paced within Tencent's 300 calls a minute.
 */
const UPSTREAM_LATENCY_MS = 50;
const MUTES = Number(process.env.BENCH_CONTROL_MUTES ?? 100);
const WAITING = Number(process.env.BENCH_CONTROL_WAITING ?? 40);
/** One upstream call per mute: 4 a second stays under the service's 280 a minute. */
const MUTES_PER_SECOND = 4;
/** How long a waiting action has been waiting when its caller dials in. */
const WAITING_BEFORE_JOIN_MS = 300;

export interface ControlResult {
  mute: { samples: number; p50: number; p95: number; max: number };
  /** One signed mutes call straight to the fake, ms. */
  baseline: { p50: number; p95: number };
  /** Action p95 / baseline p95. */
  ratio: number;
  joinToDone: { samples: number; p50: number; p95: number; max: number };
  /** Join -> done p95 less two upstream calls at the baseline's p50. */
  beyondUpstreamP95: number;
  problems: string[];
}

interface ActionAnswer {
  results: { outcome: string }[];
}

export async function runControl(): Promise<ControlResult> {
  const { fake, databaseUrl, port, close } = await startServiceWithFakeTencent(
    'pstn_tracker_bench_control',
    UPSTREAM_LATENCY_MS,
  );
  const problems: string[] = [];
  try {
    const token = await apiToken(port, ['control']);
    const act = async (meetingId: string, body: object): Promise<ActionAnswer> => {
      const res = await fetch(
        `http://127.0.0.1:${port}/v1/meetings/${meetingId}/phone-callers/actions`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        },
      );
      if (!res.ok) throw new Error(`the action answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as ActionAnswer;
    };
    const notDone = (answer: ActionAnswer) => answer.results.some((r) => r.outcome !== 'done');

    // Connected, resolved callers: in Postgres as if each had joined and resolved, and on the
    // fake's roster.
    const callers = Array.from({ length: MUTES }, (_, i) => ({
      meetingId: String(40_000_000_000 + (i % 10)),
      phoneNumber: String(13_800_000_000 + i),
      msOpenId: `resolved-${i}`,
    }));
    await seedMappings(databaseUrl, callers);
    for (const c of callers) fake.connect(c.meetingId, 86, c.phoneNumber, c.msOpenId);

    const mutes: number[] = [];
    const pace = pacer(MUTES_PER_SECOND);
    for (const caller of callers) {
      await pace();
      const started = performance.now();
      const answer = await act(caller.meetingId, {
        action: 'mute',
        phone_numbers: [{ area: 86, phone_number: caller.phoneNumber }],
      });
      mutes.push(performance.now() - started);
      if (notDone(answer)) problems.push(`mute of ${caller.msOpenId} was not done`);
    }

    // Callers who dial in while an action waits for them, each in a meeting of its own.
    const waiting = Array.from({ length: WAITING }, (_, i) => ({
      meetingId: String(41_000_000_000 + i),
      phoneNumber: String(13_900_000_000 + i),
      msOpenId: `late-${i}`,
    }));
    await startMeetings(
      databaseUrl,
      waiting.map((w) => w.meetingId),
    );
    const joinToDone: number[] = [];
    for (const caller of waiting) {
      const sampleStarted = Date.now();
      const answered = act(caller.meetingId, {
        action: 'mute',
        phone_numbers: [{ area: 86, phone_number: caller.phoneNumber }],
        wait_ms: 10_000,
      }).then((answer) => ({ answer, at: performance.now() }));
      await sleep(WAITING_BEFORE_JOIN_MS);
      fake.connect(caller.meetingId, 86, caller.phoneNumber, caller.msOpenId);
      const joinedAt = performance.now();
      const join = signedWebhook(
        meetingEvent('meeting.participant-joined', caller.meetingId, { msOpenId: caller.msOpenId }),
      );
      const delivered = await fetch(`http://127.0.0.1:${port}${join.path}`, join);
      if (!delivered.ok) throw new Error(`the join webhook answered ${delivered.status}`);
      const { answer, at } = await answered;
      joinToDone.push(at - joinedAt);
      if (notDone(answer)) problems.push(`waiting mute of ${caller.msOpenId} was not done`);
      // Two upstream calls a sample: at most 2 samples a second.
      await sleep(Math.max(0, 1000 - (Date.now() - sampleStarted)));
    }
    if (fake.badSignatureCount > 0) problems.push('the fake Tencent saw badly signed requests');
    if (fake.rateLimitedCount > 0) problems.push('the fake Tencent answered rate-limit errors');

    const baseline = await muteAlone(MUTES);
    const mute = summary(mutes);
    const wait = summary(joinToDone);
    return {
      mute,
      baseline,
      ratio: mute.p95 / baseline.p95,
      joinToDone: wait,
      beyondUpstreamP95: wait.p95 - 2 * baseline.p50,
      problems,
    };
  } finally {
    await close();
  }
}

/** Meetings that have started, written straight into Postgres. */
async function startMeetings(databaseUrl: string, meetingIds: string[]): Promise<void> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(
    `INSERT INTO meetings (meeting_id, status, started_at) SELECT unnest($1::text[]), 'started', now()`,
    [meetingIds],
  );
  await db.end();
}

/** The floor: one signed mutes call made straight to a fake Tencent, `count` times, in ms. */
async function muteAlone(count: number): Promise<{ p50: number; p95: number }> {
  const fake = new FakeTencentServer({
    secretId: DEV_SECRETS.TENCENT_SECRET_ID,
    secretKey: DEV_SECRETS.TENCENT_SECRET_KEY,
    appId: DEV_SECRETS.TENCENT_APP_ID,
  });
  fake.setLatency(UPSTREAM_LATENCY_MS);
  const baseUrl = await fake.start();
  const meetingId = '42000000000';
  fake.connect(meetingId, 86, '13800000000', 'alone-1');
  const credentials = {
    secretId: DEV_SECRETS.TENCENT_SECRET_ID,
    secretKey: DEV_SECRETS.TENCENT_SECRET_KEY,
    appId: DEV_SECRETS.TENCENT_APP_ID,
  };
  const requestUri = `/v1/real-control/meetings/${meetingId}/mutes`;
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const started = performance.now();
      const body = JSON.stringify({
        operator_id: DEV_SECRETS.TENCENT_OPERATOR_ID,
        operator_id_type: 1,
        instanceid: 1,
        mute: true,
        user: { to_operator_id: 'alone-1', to_operator_id_type: 4, instanceid: 0 },
      });
      const headers = buildTencentHeaders(credentials, { method: 'PUT', requestUri, body });
      const res = await fetch(`${baseUrl}${requestUri}`, { method: 'PUT', headers, body });
      if (!res.ok) throw new Error(`the fake Tencent answered ${res.status}`);
      await res.arrayBuffer();
      times.push(performance.now() - started);
    }
  } finally {
    await fake.close();
  }
  const { p50, p95 } = summary(times);
  return { p50, p95 };
}

function summary(times: number[]): { samples: number; p50: number; p95: number; max: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    samples: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    max: round(sorted[sorted.length - 1]),
  };
}

/** Waits as long as it takes for calls to come `perSecond` times a second. */
function pacer(perSecond: number): () => Promise<void> {
  let next = Date.now();
  return async () => {
    const wait = next - Date.now();
    next = Math.max(next, Date.now()) + 1000 / perSecond;
    if (wait > 0) await sleep(wait);
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const result = await runControl();
  const { mute, baseline, joinToDone } = result;
  console.log(
    `\nMute by number, connected and resolved callers: ${mute.samples} actions, ${MUTES_PER_SECOND}/s, upstream ${UPSTREAM_LATENCY_MS} ms`,
  );
  console.log('| | p50 ms | p95 ms | max ms |');
  console.log('|---|---:|---:|---:|');
  console.log(`| POST .../phone-callers/actions | ${mute.p50} | ${mute.p95} | ${mute.max} |`);
  console.log(
    `| one signed mutes call straight to the fake | ${baseline.p50} | ${baseline.p95} | |`,
  );
  console.log(`\np95 ratio ${result.ratio.toFixed(2)}x (target <= 1.3x)`);
  console.log(
    `\nJoin -> waiting action done: ${joinToDone.samples} callers, each dialling in ${WAITING_BEFORE_JOIN_MS} ms into a mute by number`,
  );
  console.log(
    '| p50 ms | p95 ms | max ms | two upstream calls (ms-open-id, mutes) at the baseline p50 | p95 beyond them |',
  );
  console.log('|---:|---:|---:|---:|---:|');
  console.log(
    `| ${joinToDone.p50} | ${joinToDone.p95} | ${joinToDone.max} | ${2 * baseline.p50} | ${result.beyondUpstreamP95.toFixed(1)} |`,
  );
  console.log('\ntarget: p95 beyond the upstream calls <= 150 ms');
  saveResult('control', result);
  failOn(result.problems);
}

if (require.main === module) void main();
