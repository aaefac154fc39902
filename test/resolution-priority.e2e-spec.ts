import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientsService } from '../src/auth/api-clients.service';
import { Metrics } from '../src/metrics/metrics';
import { RedisClient } from '../src/redis/redis.client';
import { UpstreamRateLimiter } from '../src/tencent/upstream-rate-limiter';
import type { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { deliver } from './support/deliver';
import { testEnv, type TestApp } from './support/test-app';
import { startTestStack, type TestStack } from './support/test-stack';
import { buildEvent } from './support/webhook-fixtures';

/**
 * With the upstream rate limit low (one call every 2 s, no burst), calls wait: what a waiting
 * meeting asks and which meeting goes next are then visible in the fake Tencent's requests.
 */
describe('resolution while upstream calls wait for the rate limit', () => {
  let stack: TestStack;
  let fake: FakeTencentServer;
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    stack = await startTestStack({
      TENCENT_RATE_LIMIT_PER_MINUTE: '30',
      TENCENT_RATE_LIMIT_BURST: '1',
    });
    ({ fake, t } = stack);
    token = (await t.app.get(ApiClientsService).create('meeting-control', ['lookup'])).token;
  });

  afterEach(() => fake.reset());

  afterAll(async () => {
    expect(fake.badSignatureCount).toBe(0);
    await stack.close();
  });

  let numbers = 0;
  const newMeeting = () => String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));
  const mapped = async (meetingId: string) =>
    (
      await t.db.query<{ ms_open_id: string }[]>(
        `SELECT ms_open_id FROM ms_open_id_mappings WHERE meeting_id = $1 ORDER BY ms_open_id`,
        [meetingId],
      )
    ).map((row) => row.ms_open_id);
  const connected = async (meetingId: string, msOpenId: string) =>
    (
      await t.db.query<unknown[]>(
        `SELECT 1 FROM pstn_participants
          WHERE meeting_id = $1 AND ms_open_id = $2 AND status = 'connected'`,
        [meetingId, msOpenId],
      )
    ).length === 1;

  /** A phone caller (number from the webhook) dials in; answers once the join is applied. */
  async function dialIn(meetingId: string, msOpenId: string): Promise<string> {
    numbers += 1;
    const number = `1390000${String(numbers).padStart(4, '0')}`;
    fake.connect(meetingId, 86, number, msOpenId);
    await deliver(
      t,
      buildEvent('meeting.participant-joined', { meetingId, msOpenId, pstnNumber: `+86${number}` }),
    );
    await expect.poll(() => connected(meetingId, msOpenId)).toBe(true);
    return number;
  }

  /**
   * A meeting whose call uses up the limit, then holds the only turn while its next call waits
   * for the limit (2 s): meanwhile other meetings wait in line.
   */
  async function occupyUpstream(): Promise<string> {
    const meetingId = newMeeting();
    await dialIn(meetingId, `${meetingId}-first`);
    await expect.poll(() => mapped(meetingId), { timeout: 5_000 }).toHaveLength(1);
    await dialIn(meetingId, `${meetingId}-second`);
    // Its round reads Postgres before it takes the turn; the callers after it must find it taken.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return meetingId;
  }

  const callOrder = () =>
    fake.requests.filter((r) => r.path.endsWith('/ms-open-id')).map((r) => r.meetingId ?? '');

  it('asks in one call for every caller who connected while the meeting waited in line', async () => {
    const holder = await occupyUpstream();
    const meetingId = newMeeting();
    const callers = ['b1', 'b2', 'b3', 'b4', 'b5'];
    // One after another, each applied before the next: each one asks for the meeting again.
    for (const caller of callers) await dialIn(meetingId, caller);

    await expect.poll(() => mapped(meetingId), { timeout: 10_000 }).toEqual(callers);
    expect(fake.requests.filter((r) => r.meetingId === meetingId)).toMatchObject([
      { numbersAsked: 5, status: 200 },
    ]);
    expect(callOrder().lastIndexOf(holder)).toBeLessThan(callOrder().indexOf(meetingId));
  });

  it('calls first for a meeting a lookup is waiting for', async () => {
    await occupyUpstream();
    const earlier = [newMeeting(), newMeeting()];
    for (const meetingId of earlier) await dialIn(meetingId, `${meetingId}-caller`);
    const looked = newMeeting();
    const number = await dialIn(looked, 'looked-up');

    const lookup = await request(t.app.getHttpServer())
      .post(`/v1/meetings/${looked}/phone/ms-open-id`)
      .set({ authorization: `Bearer ${token}` })
      .send({
        operator_id: 'op',
        operator_id_type: 1,
        phone_numbers: [{ area: 86, phone_number: number }],
      });

    // The lookup waited for the call (5 s at most) and has the answer.
    expect(lookup.status).toBe(200);
    expect(lookup.body.ms_open_id_list).toMatchObject([{ ms_open_id: 'looked-up' }]);
    await expect
      .poll(() => callOrder().filter((id) => id === looked || earlier.includes(id)), {
        timeout: 10_000,
      })
      .toEqual([looked, ...earlier]);
  });

  it('never lets calls out faster than the limit, also when a wait ends in a fraction of a ms', async () => {
    // 280 calls/min: one every 214.29 ms, so the limiter's waits end in fractions of a ms.
    const env = testEnv(stack.databaseUrl, {
      TENCENT_RATE_LIMIT_PER_MINUTE: '280',
      TENCENT_RATE_LIMIT_BURST: '1',
    });
    const redis = new RedisClient(env);
    const limiter = new UpstreamRateLimiter(env, redis, new Metrics());
    try {
      // Five callers at once, as when several meetings wait for their calls.
      const started = Date.now();
      await Promise.all(
        [1, 2, 3, 4, 5].map(async () => {
          for (let i = 0; i < 5; i += 1) await limiter.acquire('resolve');
        }),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(24 * 214);
    } finally {
      await redis.onApplicationShutdown();
    }
  });
});
