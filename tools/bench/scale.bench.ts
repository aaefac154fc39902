import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import {
  apiToken,
  failOn,
  meetingEvent,
  percentile,
  residentMemory,
  saveResult,
  seedMappings,
  signedWebhook,
  startServiceWithFakeTencent,
  type LoadRequest,
  type SeededMapping,
} from './bench-kit';

/**
 * Scale: 1,000 meetings with 10 phone callers each, all joining within one minute, against the
 * fake Tencent limited to 300 calls/min (answering in 50 ms). Meetings start evenly over the
 * first 50 s and each one's callers dial in at random within its first 10 s. Each join is a
 * signed AES webhook carrying the caller's `pstn_number`, which is how the service learns the
 * number: nothing is registered beforehand. A meeting-control service looks up the callers of
 * every 100th meeting as soon as each join is acknowledged, and again every second until the
 * answer has the id. Measured: each caller's join -> mapping stored (Postgres `resolved_at`),
 * upstream calls and 190310 answers, then the service's resident memory once 100,000 mappings
 * are held (90,000 more seeded in Postgres beforehand, every one looked up once to warm the
 * cache).
 */
const MEETINGS = 1000;
const CALLERS_PER_MEETING = 10;
const START_SPREAD_MS = 50_000;
const DIAL_IN_MS = 10_000;
const LOOKED_UP_EVERY = 100;
const UPSTREAM_LATENCY_MS = 50;
const TARGET_S = 240;
const MAX_RSS_MB = 200;
/** How long to wait for stragglers, so that a missed target shows by how much. */
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_SECONDS ?? 420) * 1000;
const SEEDED_MEETINGS = 900;
const SEEDED_PER_MEETING = 100;

interface Caller extends SeededMapping {
  /** When it dials in, in ms after the run starts. */
  at: number;
  lookedUp: boolean;
  joinedAt?: number;
  resolvedAt?: number;
  lookupAnsweredAt?: number;
}

type Figures = ReturnType<typeof figures>;

interface ScaleResult {
  all: Figures;
  lookedUp: Figures;
  others: Figures;
  lookupAnswered: Figures;
  lastResolvedS: number;
  upstreamCalls: number;
  callsPerMeetingMean: number;
  callsPerMeetingMax: number;
  rateLimited: number;
  badSignatures: number;
  redeliveries: number;
  lostJoins: number;
  lookups: number;
  mappingsHeld: number;
  rssMb: number;
  peakMb: number;
}

async function main(): Promise<void> {
  const { fake, databaseUrl, port, service, close } = await startServiceWithFakeTencent(
    'pstn_tracker_bench_scale',
    UPSTREAM_LATENCY_MS,
  );
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const seeded = seededMappings();
    await seedMappings(databaseUrl, seeded);
    const token = await apiToken(port);
    const callers = schedule();
    const meetings = [...new Set(callers.map((caller) => caller.meetingId))];
    await startMeetings(port, db, meetings);

    // Signed beforehand, so that the bench process keeps the pace of the minute.
    const joins = callers.map((caller) =>
      signedWebhook(
        meetingEvent('meeting.participant-joined', caller.meetingId, {
          msOpenId: caller.msOpenId,
          pstnNumber: `+86${caller.phoneNumber}`,
        }),
      ),
    );
    console.log(`${callers.length} phone callers join over the next minute...`);
    const runStart = Date.now();
    const deadline = runStart + DEADLINE_MS;
    const sends: Promise<void>[] = [];
    for (const [i, caller] of callers.entries()) {
      const wait = runStart + caller.at - Date.now();
      if (wait > 0) await sleep(wait);
      fake.connect(caller.meetingId, 86, caller.phoneNumber, caller.msOpenId);
      caller.joinedAt = Date.now();
      sends.push(
        deliver(port, joins[i]).then(async (delivered) => {
          if (!delivered) traffic.lostJoins += 1;
          else if (caller.lookedUp) await lookUpUntilAnswered(port, token, caller, deadline);
        }),
      );
    }
    console.log(`joins sent in ${((Date.now() - runStart) / 1000).toFixed(1)} s`);
    await waitForMappings(db, callers, deadline);
    await Promise.all(sends);

    const mapped = [...seeded, ...callers.filter((caller) => caller.resolvedAt)];
    const held = await warmCache(port, token, mapped);
    const memory = residentMemory(service.pid as number);
    const requests = fake.requests.filter((request) => request.path.endsWith('/ms-open-id'));
    const callsPerMeeting = meetings.map((meetingId) => fake.callsFor(meetingId));
    const result: ScaleResult = {
      all: figures(callers),
      lookedUp: figures(callers.filter((caller) => caller.lookedUp)),
      others: figures(callers.filter((caller) => !caller.lookedUp)),
      lookupAnswered: figures(
        callers.filter((caller) => caller.lookedUp),
        'lookupAnsweredAt',
      ),
      lastResolvedS: Math.max(...callers.map((c) => ((c.resolvedAt ?? 0) - runStart) / 1000)),
      upstreamCalls: requests.length,
      callsPerMeetingMean: requests.length / meetings.length,
      callsPerMeetingMax: Math.max(...callsPerMeeting),
      rateLimited: fake.rateLimitedCount,
      badSignatures: fake.badSignatureCount,
      ...traffic,
      mappingsHeld: held,
      ...memory,
    };
    printResult(result);
    saveResult('scale', result);
    failOn(problems(result));
  } finally {
    await db.end();
    await close();
  }
}

function problems(result: ScaleResult): string[] {
  const found: string[] = [];
  if (result.all.withinTarget < result.all.callers) {
    found.push(
      `${result.all.callers - result.all.withinTarget} callers not resolved in ${TARGET_S} s`,
    );
  }
  if (result.rateLimited > 0)
    found.push(`the fake Tencent answered 190310 ${result.rateLimited} times`);
  if (result.badSignatures > 0) found.push('the fake Tencent saw badly signed requests');
  if (result.lostJoins > 0) found.push(`${result.lostJoins} joins were never acknowledged`);
  if (result.rssMb > MAX_RSS_MB) found.push(`RSS ${result.rssMb} MB is over ${MAX_RSS_MB} MB`);
  return found;
}

/** The join plan, the same on every run (a seeded generator). */
function schedule(): Caller[] {
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const callers: Caller[] = [];
  for (let m = 0; m < MEETINGS; m += 1) {
    const start = (m * START_SPREAD_MS) / MEETINGS;
    for (let c = 0; c < CALLERS_PER_MEETING; c += 1) {
      callers.push({
        meetingId: String(40_000_000_000 + m),
        phoneNumber: String(13_800_000_000 + m * CALLERS_PER_MEETING + c),
        msOpenId: `scale-${m}-${c}`,
        at: start + random() * DIAL_IN_MS,
        lookedUp: m % LOOKED_UP_EVERY === 0,
      });
    }
  }
  return callers.sort((a, b) => a.at - b.at);
}

function seededMappings(): SeededMapping[] {
  return Array.from({ length: SEEDED_MEETINGS * SEEDED_PER_MEETING }, (_, i) => ({
    meetingId: String(41_000_000_000 + Math.floor(i / SEEDED_PER_MEETING)),
    phoneNumber: String(13_900_000_000 + i),
    msOpenId: `seeded-${i}`,
  }));
}

/** What the bench sent besides the plan: redelivered webhooks, lost joins, lookups. */
const traffic = { redeliveries: 0, lostJoins: 0, lookups: 0 };

/** Posts a webhook as Tencent does: an answer other than 2xx is redelivered, 5 tries at most. */
async function deliver(port: number, request: LoadRequest): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    if (attempt > 0) {
      traffic.redeliveries += 1;
      await sleep(1000);
    }
    const ok = await fetch(`http://127.0.0.1:${port}${request.path}`, request).then(
      async (res) => (await res.arrayBuffer(), res.ok),
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

/** The meetings start before their callers dial in; waits until the service has applied it. */
async function startMeetings(port: number, db: Client, meetings: string[]): Promise<void> {
  for (let i = 0; i < meetings.length; i += 20) {
    const starts = meetings
      .slice(i, i + 20)
      .map((meetingId) => deliver(port, signedWebhook(meetingEvent('meeting.started', meetingId))));
    if ((await Promise.all(starts)).includes(false)) throw new Error('a meeting start was lost');
  }
  const started = async () =>
    Number(
      (
        await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM meetings WHERE meeting_id = ANY($1) AND status = 'started'`,
          [meetings],
        )
      ).rows[0].n,
    );
  while ((await started()) < meetings.length) await sleep(200);
}

function lookupRequest(token: string, meetingId: string, numbers: string[]): LoadRequest {
  return {
    method: 'POST',
    path: `/v1/meetings/${meetingId}/phone/ms-open-id`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      operator_id: 'op',
      operator_id_type: 1,
      phone_numbers: numbers.map((number) => ({ area: 86, phone_number: Number(number) })),
    }),
  };
}

/** Answers how many ids the lookup returned. */
async function lookUpIds(port: number, request: LoadRequest): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${request.path}`, request);
  if (!res.ok) throw new Error(`lookup answered ${res.status}`);
  return ((await res.json()) as { ms_open_id_list: unknown[] }).ms_open_id_list.length;
}

/** A meeting-control service asking for a caller's id every second until it has it. */
async function lookUpUntilAnswered(
  port: number,
  token: string,
  caller: Caller,
  deadline: number,
): Promise<void> {
  const request = lookupRequest(token, caller.meetingId, [caller.phoneNumber]);
  while (Date.now() < deadline) {
    traffic.lookups += 1;
    if ((await lookUpIds(port, request).catch(() => 0)) > 0) {
      caller.lookupAnsweredAt = Date.now();
      return;
    }
    await sleep(1000);
  }
}

async function waitForMappings(db: Client, callers: Caller[], deadline: number): Promise<void> {
  const byId = new Map(callers.map((caller) => [caller.msOpenId, caller]));
  const meetings = [...new Set(callers.map((caller) => caller.meetingId))];
  for (;;) {
    const { rows } = await db.query<{ ms_open_id: string; resolved_at: Date }>(
      `SELECT ms_open_id, resolved_at FROM ms_open_id_mappings WHERE meeting_id = ANY($1)`,
      [meetings],
    );
    for (const row of rows) {
      const caller = byId.get(row.ms_open_id);
      if (caller) caller.resolvedAt = row.resolved_at.getTime();
    }
    if (rows.length >= callers.length || Date.now() > deadline) return;
    await sleep(2000);
  }
}

/** Looks every mapping up once (a meeting's numbers in one request); answers the ids returned. */
async function warmCache(port: number, token: string, mapped: SeededMapping[]): Promise<number> {
  const numbersByMeeting = new Map<string, string[]>();
  for (const { meetingId, phoneNumber } of mapped) {
    numbersByMeeting.set(meetingId, [...(numbersByMeeting.get(meetingId) ?? []), phoneNumber]);
  }
  const requests = [...numbersByMeeting].map(([meetingId, numbers]) =>
    lookupRequest(token, meetingId, numbers),
  );
  let held = 0;
  for (let i = 0; i < requests.length; i += 4) {
    const ids = await Promise.all(requests.slice(i, i + 4).map((r) => lookUpIds(port, r)));
    held += ids.reduce((a, b) => a + b, 0);
  }
  return held;
}

/** Seconds from each caller's join to the moment given, for those that got there. */
function figures(callers: Caller[], until: 'resolvedAt' | 'lookupAnsweredAt' = 'resolvedAt') {
  const seconds = callers
    .filter((caller) => caller[until] !== undefined)
    .map((caller) => ((caller[until] as number) - (caller.joinedAt as number)) / 1000)
    .sort((a, b) => a - b);
  return {
    callers: callers.length,
    resolved: seconds.length,
    withinTarget: seconds.filter((s) => s <= TARGET_S).length,
    p50S: percentile(seconds, 50),
    p95S: percentile(seconds, 95),
    p99S: percentile(seconds, 99),
    maxS: seconds[seconds.length - 1],
  };
}

function printResult(result: ScaleResult): void {
  const s = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
  console.log(
    `\nJoin -> mapping stored, ${MEETINGS} meetings x ${CALLERS_PER_MEETING} callers within a minute, fake Tencent 300 calls/min (${UPSTREAM_LATENCY_MS} ms)`,
  );
  console.log(`| callers | resolved | within ${TARGET_S} s | p50 s | p95 s | p99 s | max s |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const rows: [string, Figures][] = [
    ['all', result.all],
    [`of looked-up meetings (every ${LOOKED_UP_EVERY}th)`, result.lookedUp],
    ['of the other meetings', result.others],
    ['looked-up callers: join -> lookup answered with the id', result.lookupAnswered],
  ];
  for (const [name, f] of rows) {
    console.log(
      `| ${name} | ${f.resolved}/${f.callers} | ${f.withinTarget} | ${s(f.p50S)} | ${s(f.p95S)} | ${s(f.p99S)} | ${s(f.maxS)} |`,
    );
  }
  console.log(
    '\n| upstream calls | per meeting (mean / max) | 190310 answers | webhooks redelivered / lost | lookups | mappings held | RSS MB | peak RSS MB |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${result.upstreamCalls} | ${result.callsPerMeetingMean.toFixed(2)} / ${result.callsPerMeetingMax} | ${result.rateLimited} | ${result.redeliveries} / ${result.lostJoins} | ${result.lookups} | ${result.mappingsHeld} | ${result.rssMb} | ${result.peakMb} |`,
  );
  console.log(
    `\ntargets: every caller resolved within ${TARGET_S} s, no 190310, RSS <= ${MAX_RSS_MB} MB; last mapping stored ${s(result.lastResolvedS)} s after the first join`,
  );
}

void main();
