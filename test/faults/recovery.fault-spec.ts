import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeTencentServer } from '../../tools/fake-tencent/fake-tencent-server';
import { freePort } from '../../tools/service-process';
import { signedDelivery } from '../../tools/webhook-delivery';
import {
  ADMIN_TOKEN,
  AES_KEY,
  AES_TOKEN,
  TENCENT_CREDENTIALS,
  testSettings,
} from '../support/test-app';
import { compileProject, startCompiled, stopProcess } from '../support/compiled-build';
import { createTestDatabase, dropTestDatabase } from '../support/test-database';
import { buildEvent } from '../support/webhook-fixtures';
import { testKeyPrefix } from '../support/test-redis';

const MEETINGS = 6;
/** The service's share of the fake's limit, and the burst it may take at once. */
const RATE_PER_MINUTE = 120;
const BURST = 5;
const DOWNTIME_AFTER_SECONDS = 3;
/** Every meeting's callers and mappings are right within this of the restart. */
const RECOVERY_MS = 60_000;

/**
 * The compiled service is stopped while phone callers join and leave and a meeting ends; the
 * webhooks Tencent sends meanwhile are refused and lost for good. Started again, it must repair
 * every meeting from Tencent's live roster. Postgres and Redis stay up throughout.
 */
let outDir: string;
let databaseUrl: string;
let fake: FakeTencentServer;
let db: Client;
let port: number;
let service: ChildProcess | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  outDir = compileProject();
  databaseUrl = await createTestDatabase();
  db = new Client({ connectionString: databaseUrl });
  await db.connect();
  // The fake enforces Tencent's limit on the app: any call beyond it answers 190310.
  fake = new FakeTencentServer({ ...TENCENT_CREDENTIALS, ratePerMinute: RATE_PER_MINUTE + BURST });
  const tencent = await fake.start();
  port = await freePort();
  env = testSettings(databaseUrl, {
    PORT: String(port),
    REDIS_KEY_PREFIX: testKeyPrefix(`recovery:${port}`),
    LOG_LEVEL: 'warn',
    TENCENT_API_BASE_URL: tencent,
    TENCENT_RATE_LIMIT_PER_MINUTE: String(RATE_PER_MINUTE),
    TENCENT_RATE_LIMIT_BURST: String(BURST),
    ROSTER_TICK_SECONDS: '1',
    ROSTER_GRACE_SECONDS: '2',
    DOWNTIME_AFTER_SECONDS: String(DOWNTIME_AFTER_SECONDS),
  });
}, 120_000);

afterAll(async () => {
  service?.kill('SIGKILL');
  await db?.end();
  await fake?.close();
  await dropTestDatabase(databaseUrl);
  rmSync(outDir, { recursive: true, force: true });
});

/** Starts the compiled service and waits until it is ready. */
const startService = () =>
  startCompiled(outDir, 'src/main.js', env, `http://127.0.0.1:${port}/health/ready`);

/** Posts an event as Tencent would; true when the service acknowledged it. */
async function delivered(plaintext: string): Promise<boolean> {
  const sent = signedDelivery(AES_TOKEN, plaintext, AES_KEY);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/tencent-meeting`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sent.headers },
      body: JSON.stringify({ data: sent.data }),
    });
    return res.status === 200;
  } catch {
    return false;
  }
}

const rows = async <T>(sql: string, params: unknown[] = []) =>
  (await db.query<T & Record<string, unknown>>(sql, params)).rows;
const numberOf = (m: number, c: number) =>
  `1390${String(m).padStart(3, '0')}${String(c).padStart(4, '0')}`;
const idOf = (m: number, c: number) => `m${m}-c${c}`;
const meetingIdOf = (m: number) => String(9_700_000_000 + m);
/** The meetings the fake has ended: the service must hold them ended too. */
const ended = new Set<string>();

/** What the service holds against the fake's truth, per meeting; empty when they agree. */
async function disagreements(): Promise<string[]> {
  const problems: string[] = [];
  const meetings = await rows<{ meeting_id: string; status: string }>(
    `SELECT meeting_id, status FROM meetings ORDER BY meeting_id`,
  );
  for (const { meeting_id: meetingId, status } of meetings) {
    const truth = fake.roster(meetingId).filter((p) => p.instanceid === 0);
    const connected = await rows<{ ms_open_id: string; area: string; phone_number: string }>(
      `SELECT p.ms_open_id, m.area, m.phone_number FROM pstn_participants p
         LEFT JOIN ms_open_id_mappings m ON m.meeting_id = p.meeting_id AND m.ms_open_id = p.ms_open_id
        WHERE p.meeting_id = $1 AND p.status = 'connected' ORDER BY p.ms_open_id`,
      [meetingId],
    );
    const expected = truth
      .map((p) => ({ ms_open_id: p.msOpenId, area: p.area, phone_number: p.phoneNumber }))
      .sort((a, b) => a.ms_open_id.localeCompare(b.ms_open_id));
    if (JSON.stringify(connected) !== JSON.stringify(expected)) {
      problems.push(`${meetingId}: callers ${JSON.stringify(connected)}`);
    }
    if (ended.has(meetingId) !== (status === 'ended')) problems.push(`${meetingId}: ${status}`);
  }
  return problems;
}

it('repairs every meeting from the roster after a downtime that lost webhooks, within the budget', async () => {
  service = await startService();
  const token = { authorization: `Bearer ${ADMIN_TOKEN}` };
  // Before the downtime: each meeting has started, its numbers are registered, and three
  // callers joined with webhooks that arrived.
  for (let m = 0; m < MEETINGS; m += 1) {
    const meetingId = meetingIdOf(m);
    expect(await delivered(buildEvent('meeting.started', { meetingId }))).toBe(true);
    const res = await fetch(`http://127.0.0.1:${port}/v1/meetings/${meetingId}/tracked-numbers`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...token },
      body: JSON.stringify({
        phone_numbers: [0, 1, 2, 3, 4].map((c) => ({ area: 86, phone_number: numberOf(m, c) })),
      }),
    });
    expect(res.status).toBe(200);
    for (let c = 0; c < 3; c += 1) {
      fake.connect(meetingId, 86, numberOf(m, c), idOf(m, c));
      const join = buildEvent('meeting.participant-joined', {
        meetingId,
        msOpenId: idOf(m, c),
        pstnNumber: `+86${numberOf(m, c)}`,
      });
      expect(await delivered(join)).toBe(true);
    }
  }
  await expect.poll(() => disagreements(), { timeout: 30_000, interval: 500 }).toEqual([]);

  await stopProcess(service);
  const stoppedAt = Date.now();
  // While it is down: in every meeting one caller leaves and two join; in one meeting a caller
  // also joins and leaves again; the last meeting ends. Every webhook of it is lost.
  const lost: string[] = [];
  for (let m = 0; m < MEETINGS; m += 1) {
    const meetingId = meetingIdOf(m);
    fake.disconnect(meetingId, idOf(m, 0));
    lost.push(buildEvent('meeting.participant-left', { meetingId, msOpenId: idOf(m, 0) }));
    for (const c of [3, 4]) {
      fake.connect(meetingId, 86, numberOf(m, c), idOf(m, c));
      lost.push(
        buildEvent('meeting.participant-joined', {
          meetingId,
          msOpenId: idOf(m, c),
          pstnNumber: `+86${numberOf(m, c)}`,
        }),
      );
    }
  }
  fake.connect(meetingIdOf(0), 86, numberOf(0, 1), 'm0-brief');
  fake.disconnect(meetingIdOf(0), 'm0-brief');
  fake.endMeeting(meetingIdOf(MEETINGS - 1));
  ended.add(meetingIdOf(MEETINGS - 1));
  lost.push(buildEvent('meeting.end', { meetingId: meetingIdOf(MEETINGS - 1) }));
  for (const event of lost) expect(await delivered(event)).toBe(false);
  // Down for longer than DOWNTIME_AFTER_SECONDS.
  await sleep(Math.max(0, stoppedAt + (DOWNTIME_AFTER_SECONDS + 1) * 1000 - Date.now()));
  expect(await disagreements()).not.toEqual([]);

  const requestsBefore = fake.requests.length;
  service = await startService();
  const restartedAt = Date.now();
  await expect.poll(() => disagreements(), { timeout: RECOVERY_MS, interval: 500 }).toEqual([]);
  console.log(
    `recovered ${Date.now() - restartedAt} ms after the restart, ${fake.requests.length - requestsBefore} upstream calls`,
  );

  // Every repair is logged as reconciliation's: 2 joins and 1 leave in each meeting still open,
  // and the end of the last one, whose callers it closed.
  const repairs = await rows<{ kind: string; n: number }>(
    `SELECT kind, count(*)::int AS n FROM pstn_events WHERE source = 'reconciliation'
      GROUP BY kind ORDER BY kind`,
  );
  expect(repairs).toEqual([
    { kind: 'ended', n: 1 },
    { kind: 'joined', n: 2 * (MEETINGS - 1) },
    { kind: 'left', n: MEETINGS - 1 },
  ]);
  // No mapping contradicts the fake's history of ids.
  const mappings = await rows<{ meeting_id: string; ms_open_id: string; phone_number: string }>(
    `SELECT meeting_id, ms_open_id, phone_number FROM ms_open_id_mappings`,
  );
  for (const mapping of mappings) {
    const m = Number(mapping.meeting_id) - 9_700_000_000;
    expect(mapping.ms_open_id.startsWith(`m${m}-`) || mapping.ms_open_id === 'm0-brief').toBe(true);
    expect(mapping.phone_number).toBe(
      mapping.ms_open_id === 'm0-brief'
        ? numberOf(0, 1)
        : numberOf(m, Number(mapping.ms_open_id.split('-c')[1])),
    );
  }

  // Never beyond the limit: the fake refused nothing, and no window of the service's calls
  // holds more than its burst plus its rate over the window.
  expect(fake.rateLimitedCount).toBe(0);
  const times = fake.requests.map((r) => r.time);
  for (const [i, start] of times.entries()) {
    for (const windowMs of [1_000, 10_000, 60_000]) {
      const inWindow = times.slice(i).filter((time) => time < start + windowMs).length;
      expect(inWindow).toBeLessThanOrEqual(
        BURST + Math.ceil((RATE_PER_MINUTE * windowMs) / 60_000),
      );
    }
  }
  expect(fake.badSignatureCount).toBe(0);
});
