import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeTencentServer } from '../../tools/fake-tencent/fake-tencent-server';
import {
  AES_KEY,
  AES_TOKEN,
  startTestApp,
  TENCENT_CREDENTIALS,
  testEnv,
  type TestApp,
} from '../support/test-app';
import { createTestDatabase, dropTestDatabase } from '../support/test-database';
import { signedDelivery } from '../../tools/webhook-delivery';
import { buildEvent } from '../support/webhook-fixtures';
import { processedEvents } from './scenario';
import { testKeyPrefix } from '../support/test-redis';

const MEETINGS = 6;
const CALLERS = 8;

let databaseUrl: string;
let fake: FakeTencentServer;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  fake = new FakeTencentServer(TENCENT_CREDENTIALS);
  const env = testEnv(databaseUrl, {
    TENCENT_API_BASE_URL: await fake.start(),
    REDIS_KEY_PREFIX: testKeyPrefix(),
  });
  [a, b] = await Promise.all([startTestApp(env), startTestApp(env)]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await fake?.close();
  await dropTestDatabase(databaseUrl);
});

/** Fisher-Yates with a seeded generator, so a failure can be replayed. */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

it('applies duplicated, reordered and concurrent deliveries over two instances once each', async () => {
  // The truth: every caller joins; odd callers leave a second later; the last meeting ends.
  const base = Date.now() - 60_000;
  const events: string[] = [];
  const truth = new Map<string, 'connected' | 'left'>();
  const meetings = Array.from({ length: MEETINGS }, (_, m) => String(9_200_000_000 + m));
  for (const [m, meetingId] of meetings.entries()) {
    events.push(buildEvent('meeting.started', { meetingId, operateTime: base }));
    for (let c = 0; c < CALLERS; c++) {
      const msOpenId = `m${m}-c${c}`;
      const number = `1370${String(m).padStart(3, '0')}${String(c).padStart(4, '0')}`;
      fake.connect(meetingId, 86, number, msOpenId);
      const joinedAt = base + 1000 + c * 10;
      events.push(
        buildEvent('meeting.participant-joined', {
          meetingId,
          msOpenId,
          pstnNumber: `+86${number}`,
          operateTime: joinedAt,
        }),
      );
      if (c % 2 === 1) {
        events.push(
          buildEvent('meeting.participant-left', {
            meetingId,
            msOpenId,
            operateTime: joinedAt + 1000,
          }),
        );
      }
      truth.set(`${meetingId}/${msOpenId}`, c % 2 === 1 ? 'left' : 'connected');
    }
  }

  // Each event is delivered three times (Tencent retries), in a shuffled order, to either
  // instance, twenty at a time.
  const deliveries = shuffle(
    events.flatMap((event) => [event, event, event]),
    42,
  );
  const statuses: number[] = [];
  for (let i = 0; i < deliveries.length; i += 20) {
    const batch = deliveries.slice(i, i + 20).map((plaintext, j) => {
      const target = (i + j) % 2 === 0 ? a : b;
      const sent = signedDelivery(AES_TOKEN, plaintext, AES_KEY);
      return request(target.app.getHttpServer())
        .post('/webhooks/tencent-meeting')
        .set(sent.headers)
        .send({ data: sent.data })
        .then((res) => statuses.push(res.status));
    });
    await Promise.all(batch);
  }
  expect(statuses.every((status) => status === 200)).toBe(true);

  await expect.poll(() => processedEvents(a.db), { timeout: 30_000 }).toBe(String(events.length));

  // One stored event per event sent, one phone event per join or leave, each caller as the
  // truth says whatever the order, and one mapping per caller.
  const stored = await a.db.query<{ n: string; distinct: string }[]>(
    `SELECT count(*) AS n, count(DISTINCT trace_id) AS distinct FROM webhook_events`,
  );
  expect(stored[0]).toEqual({ n: String(events.length), distinct: String(events.length) });
  const phoneEvents = await a.db.query<{ n: string }[]>(`SELECT count(*) AS n FROM pstn_events`);
  expect(Number(phoneEvents[0].n)).toBe(events.length - MEETINGS);
  const participants = await a.db.query<
    { meeting_id: string; ms_open_id: string; status: string }[]
  >(`SELECT meeting_id, ms_open_id, status FROM pstn_participants`);
  expect(new Map(participants.map((p) => [`${p.meeting_id}/${p.ms_open_id}`, p.status]))).toEqual(
    truth,
  );
  // Every connected caller gets its mapping (a caller whose leave came first may never be
  // asked about), and no caller is mapped twice.
  const connected = [...truth].filter(([, status]) => status === 'connected').map(([key]) => key);
  const mapped = async () =>
    (
      await a.db.query<{ key: string }[]>(
        `SELECT meeting_id || '/' || ms_open_id AS key FROM ms_open_id_mappings`,
      )
    ).map((row) => row.key);
  await expect
    .poll(
      async () => {
        const keys = await mapped();
        return connected.filter((key) => !keys.includes(key));
      },
      { timeout: 30_000 },
    )
    .toEqual([]);
  const keys = await mapped();
  expect(new Set(keys).size).toBe(keys.length);
  // The two instances never asked Tencent about one meeting at once.
  for (const meetingId of meetings) expect(fake.maxConcurrentFor(meetingId)).toBe(1);
  expect(fake.badSignatureCount).toBe(0);
});
