import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
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
import {
  apiToken,
  failOn,
  meetingEvent,
  percentile,
  saveResult,
  signedWebhook,
  type LoadRequest,
} from './bench-kit';

/**
 * Recovery: 200 meetings whose webhooks were lost for 15 minutes, during which 2,000 phone
 * callers joined (10 a meeting) and 500 of the 1,000 callers connected before left. The
 * 15 minutes are not waited for: the service's database is seeded as a stopped service would
 * have left it (its heartbeat 15 minutes old, the last webhook of each meeting as old, the 1,000
 * earlier callers connected and mapped, every number registered beforehand by the
 * meeting-control service), and the fake Tencent's truth as Tencent's would be. Then the service
 * starts, with its default settings, and repairs everything from the live rosters.
 *
 * Measured: the time from the restart until every meeting's connected callers and their
 * mappings equal the fake's truth, and the upstream calls that took. Meanwhile callers join 10
 * other meetings (their webhooks arrive) and are looked up with wait_ms as each joins: their
 * join -> answered-with-the-id, beside the same lookups in a run with nothing to recover (the
 * database seeded with the truth and a fresh heartbeat).
 */
const MEETINGS = 200;
const KNOWN_PER_MEETING = 5;
const JOINED_PER_MEETING = 10;
const LOST_MINUTES = 15;
const LIVE_MEETINGS = 10;
const LIVE_JOINS = 60;
const LIVE_JOINS_PER_SECOND = 1;
const UPSTREAM_LATENCY_MS = 50;
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_SECONDS ?? 600) * 1000;

interface Caller {
  meetingId: string;
  msOpenId: string;
  phoneNumber: string;
  /** Connected before the webhooks were lost, and whether it left while they were. */
  known: boolean;
  left: boolean;
  joinedAt: Date;
}

interface Figures {
  p50: number;
  p95: number;
  max: number;
  answered: number;
}

interface RunResult {
  /** Restart -> every roster and mapping right; null when the deadline passed first. */
  recoveredMs: number | null;
  upstream: Record<string, number>;
  rateLimited: number;
  lookups: Figures;
  problems: string[];
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

/** 500 leavers among the 1,000 known callers: 2 or 3 a meeting. */
function callers(): Caller[] {
  const all: Caller[] = [];
  for (let m = 0; m < MEETINGS; m += 1) {
    const meetingId = String(40_000_000_000 + m);
    const leavers = m % 2 === 0 ? 2 : 3;
    for (let c = 0; c < KNOWN_PER_MEETING + JOINED_PER_MEETING; c += 1) {
      const known = c < KNOWN_PER_MEETING;
      all.push({
        meetingId,
        msOpenId: `r${m}-${c}`,
        phoneNumber: String(13_600_000_000 + m * 100 + c),
        known,
        left: known && c < leavers,
        // Known callers joined 20 minutes ago; the others over the 15 lost minutes.
        joinedAt: known
          ? minutesAgo(20)
          : minutesAgo(LOST_MINUTES * (1 - (c - KNOWN_PER_MEETING + 0.5) / JOINED_PER_MEETING)),
      });
    }
  }
  return all;
}

/** The fake's truth: everyone connected, then the leavers gone. */
function tellTheFake(fake: FakeTencentServer, all: Caller[]): void {
  for (const caller of all) {
    fake.connect(caller.meetingId, 86, caller.phoneNumber, caller.msOpenId, {
      joinTime: caller.joinedAt,
    });
  }
  for (const caller of all) if (caller.left) fake.disconnect(caller.meetingId, caller.msOpenId);
}

/**
 * The database as the service would have it: with `recover`, as it stopped 15 minutes ago
 * (only the known callers, all connected); without, as a service up all along would (the truth,
 * its rosters just read).
 */
async function seed(db: Client, all: Caller[], recover: boolean): Promise<void> {
  const meetings = [...new Set(all.map((c) => c.meetingId))];
  const lastEvent = recover ? minutesAgo(LOST_MINUTES) : new Date();
  await db.query(
    `INSERT INTO meetings (meeting_id, status, started_at, created_at, last_event_at, roster_read_at)
     SELECT unnest($1::text[]), 'started', $2, $2, $3, $4`,
    [meetings, minutesAgo(21), lastEvent, recover ? null : new Date()],
  );
  const held = all.filter((c) => (recover ? c.known : true));
  const column = <T>(pick: (c: Caller) => T) => held.map(pick);
  await db.query(
    `INSERT INTO pstn_participants
       (meeting_id, ms_open_id, pstn_number, status, joined_at, left_at, last_operate_time)
     SELECT m, o, '+86' || p, CASE WHEN l THEN 'left' ELSE 'connected' END, j,
            CASE WHEN l THEN $6::timestamptz END, CASE WHEN l THEN $6::timestamptz ELSE j END
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::boolean[])
         AS t(m, o, p, j, l)`,
    [
      column((c) => c.meetingId),
      column((c) => c.msOpenId),
      column((c) => c.phoneNumber),
      column((c) => c.joinedAt),
      column((c) => !recover && c.left),
      minutesAgo(5),
    ],
  );
  await db.query(
    `INSERT INTO ms_open_id_mappings (meeting_id, ms_open_id, area, phone_number, resolved_at)
     SELECT m, o, '86', p, j FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
       AS t(m, o, p, j)`,
    [
      column((c) => c.meetingId),
      column((c) => c.msOpenId),
      column((c) => c.phoneNumber),
      column((c) => c.joinedAt),
    ],
  );
  // Every number registered beforehand; the ones mapped were asked when their callers joined.
  await db.query(
    `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source, last_asked_at)
     SELECT m, '86', p, 'api', CASE WHEN a THEN $4::timestamptz END
       FROM unnest($1::text[], $2::text[], $3::boolean[]) AS t(m, p, a)`,
    [
      all.map((c) => c.meetingId),
      all.map((c) => c.phoneNumber),
      all.map((c) => (recover ? c.known : true)),
      minutesAgo(20),
    ],
  );
  await db.query(`UPDATE service_heartbeat SET alive_at = $1`, [lastEvent]);
  await db.query('ANALYZE');
}

/** The meetings' connected callers and their numbers, as one comparable text. */
async function held(db: Client, meetings: string[]): Promise<string> {
  const { rows } = await db.query<{ row: string }>(
    `SELECT p.meeting_id || ' ' || p.ms_open_id || ' ' || COALESCE(m.phone_number, '-') AS row
       FROM pstn_participants p
       LEFT JOIN ms_open_id_mappings m ON m.meeting_id = p.meeting_id AND m.ms_open_id = p.ms_open_id
      WHERE p.meeting_id = ANY($1) AND p.status = 'connected'
      ORDER BY 1`,
    [meetings],
  );
  return rows.map((r) => r.row).join('\n');
}

function truth(all: Caller[]): string {
  return all
    .filter((c) => !c.left)
    .map((c) => `${c.meetingId} ${c.msOpenId} ${c.phoneNumber}`)
    .sort()
    .join('\n');
}

/**
 * Callers join live meetings, one a second, each looked up with wait_ms as soon as its join
 * webhook is acknowledged; answers each join -> answered-with-its-id, in ms.
 */
async function liveLookups(
  port: number,
  fake: FakeTencentServer,
  token: string,
  run: string,
): Promise<number[]> {
  const post = async (request: LoadRequest) => {
    const res = await fetch(`http://127.0.0.1:${port}${request.path}`, request);
    if (!res.ok) throw new Error(`${request.path} answered ${res.status}`);
    return res;
  };
  const meetings = Array.from({ length: LIVE_MEETINGS }, (_, m) => `${run}${m}`);
  for (const meetingId of meetings)
    await post(signedWebhook(meetingEvent('meeting.started', meetingId)));
  const waits: Promise<number>[] = [];
  for (let i = 0; i < LIVE_JOINS; i += 1) {
    const meetingId = meetings[i % LIVE_MEETINGS];
    const msOpenId = `live-${i}`;
    const phoneNumber = 13_500_000_000 + i;
    fake.connect(meetingId, 86, String(phoneNumber), msOpenId);
    const started = performance.now();
    waits.push(
      (async () => {
        await post(
          signedWebhook(
            meetingEvent('meeting.participant-joined', meetingId, {
              msOpenId,
              pstnNumber: `+86${phoneNumber}`,
            }),
          ),
        );
        const res = await post({
          method: 'POST',
          path: `/v1/meetings/${meetingId}/phone/ms-open-id?wait_ms=10000`,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ phone_numbers: [{ area: 86, phone_number: phoneNumber }] }),
        });
        const answer = (await res.json()) as { ms_open_id_list: { ms_open_id: string }[] };
        const found = answer.ms_open_id_list.some((id) => id.ms_open_id === msOpenId);
        return found ? performance.now() - started : Number.POSITIVE_INFINITY;
      })(),
    );
    await sleep(1000 / LIVE_JOINS_PER_SECOND);
  }
  return Promise.all(waits);
}

async function runOnce(recover: boolean): Promise<RunResult> {
  const run = recover ? '41' : '42';
  const fake = new FakeTencentServer({
    secretId: DEV_SECRETS.TENCENT_SECRET_ID,
    secretKey: DEV_SECRETS.TENCENT_SECRET_KEY,
    appId: DEV_SECRETS.TENCENT_APP_ID,
    ratePerMinute: 300,
  });
  fake.setLatency(UPSTREAM_LATENCY_MS);
  const databaseUrl = await freshDatabase(`pstn_tracker_bench_recover_${recover ? 'on' : 'off'}`);
  const port = await freePort();
  const prefix = runKeyPrefix('bench');
  const env = serviceEnv(port, databaseUrl, {
    TENCENT_API_BASE_URL: await fake.start(),
    REDIS_KEY_PREFIX: prefix,
  });
  const db = new Client({ connectionString: databaseUrl });
  let service: ChildProcess | undefined;
  try {
    // A first start applies the migrations; the seeding is done while it is stopped.
    await stop(await startNode(SERVICE_SCRIPT, env, port));
    await db.connect();
    const all = callers();
    tellTheFake(fake, all);
    await seed(db, all, recover);
    const meetings = [...new Set(all.map((c) => c.meetingId))];
    const expected = truth(all);

    service = await startNode(SERVICE_SCRIPT, env, port);
    const restarted = performance.now();
    const requestsBefore = fake.requests.length;
    const token = await apiToken(port);
    const lookups = liveLookups(port, fake, token, run);
    let recoveredMs: number | null = null;
    while (performance.now() - restarted < DEADLINE_MS) {
      if ((await held(db, meetings)) === expected) {
        recoveredMs = Math.round(performance.now() - restarted);
        break;
      }
      await sleep(250);
    }
    const waits = (await lookups).sort((a, b) => a - b);
    const upstream: Record<string, number> = {};
    for (const r of fake.requests.slice(requestsBefore)) {
      const endpoint = r.path.split('/').pop() ?? r.path;
      upstream[endpoint] = (upstream[endpoint] ?? 0) + 1;
    }
    const problems: string[] = [];
    if (recoveredMs === null)
      problems.push(`${recover ? 'recovery' : 'baseline'}: not right in time`);
    const unanswered = waits.filter((w) => !Number.isFinite(w)).length;
    if (unanswered > 0) problems.push(`${unanswered} live lookups were not answered with the id`);
    if (fake.badSignatureCount > 0) problems.push('the fake Tencent saw badly signed requests');
    return {
      recoveredMs,
      upstream,
      rateLimited: fake.rateLimitedCount,
      lookups: {
        p50: Math.round(percentile(waits, 50)),
        p95: Math.round(percentile(waits, 95)),
        max: Math.round(waits[waits.length - 1]),
        answered: waits.length - unanswered,
      },
      problems,
    };
  } finally {
    if (service) await stop(service);
    await db.end().catch(() => undefined);
    await fake.close();
    await dropRedisKeys(prefix);
  }
}

async function main(): Promise<void> {
  const all = callers();
  const recovery = await runOnce(true);
  const baseline = await runOnce(false);
  const calls = (r: RunResult) =>
    Object.entries(r.upstream)
      .map(([endpoint, n]) => `${endpoint} ${n}`)
      .join(', ') || 'none';
  console.log(
    `\nRecovery: ${MEETINGS} meetings, webhooks lost for ${LOST_MINUTES} min while ${all.filter((c) => !c.known).length} callers joined and ${all.filter((c) => c.left).length} left; upstream ${UPSTREAM_LATENCY_MS} ms, limited to 300/min`,
  );
  console.log(
    '| run | restart -> every roster and mapping right | upstream calls | 190310 | live lookups answered | join -> id p50 ms | p95 ms | max ms |',
  );
  console.log('|---|---:|---|---:|---:|---:|---:|---:|');
  for (const [name, r] of [
    ['recovery to do', recovery],
    ['nothing to recover', baseline],
  ] as const) {
    console.log(
      `| ${name} | ${r.recoveredMs === null ? 'not in time' : `${(r.recoveredMs / 1000).toFixed(1)} s`} | ${calls(r)} | ${r.rateLimited} | ${r.lookups.answered}/${LIVE_JOINS} | ${r.lookups.p50} | ${r.lookups.p95} | ${r.lookups.max} |`,
    );
  }
  saveResult('recover', { recovery, baseline });
  failOn([...recovery.problems, ...baseline.problems]);
}

if (require.main === module) void main();
