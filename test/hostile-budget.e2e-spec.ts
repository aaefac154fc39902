import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClientsService } from '../src/auth/api-clients.service';
import { MeetingResolver } from '../src/resolution/meeting-resolver';
import { deliver } from './support/deliver';
import { startTestStack, type TestStack } from './support/test-stack';
import { buildEvent } from './support/webhook-fixtures';

/**
 * Issue 13, item 4: a lookup client registers 10 x 100 junk numbers in a meeting, then one
 * anonymous phone caller (none of those numbers) joins. The shared Tencent budget it may burn
 * is bounded: at most so many tracked numbers, and follow-up rounds that stop asking numbers
 * that cannot be that caller any more.
 */

const CAP = 1000;
const MEETING = '20261125000000000013';

let stack: TestStack;
let token: string;

beforeAll(async () => {
  stack = await startTestStack({
    TRACKED_NUMBERS_PER_MEETING: String(CAP),
    // Room for every call of the scenario at once, so that the rate limiter does not stretch
    // the rounds and the count below is exact; the limiter is not what is tested here.
    TENCENT_RATE_LIMIT_BURST: '100',
    // Reconciliation would ask again after 120 s; the scenario is over long before.
    SCHEDULER_ENABLED: 'false',
  });
  token = (await stack.t.app.get(ApiClientsService).create('careless', ['lookup'])).token;
});

afterAll(async () => {
  expect(stack.fake.badSignatureCount).toBe(0);
  await stack.close();
});

const http = () => request(stack.t.app.getHttpServer());
const bearer = () => ({ authorization: `Bearer ${token}` });
const junk = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    area: 86,
    phone_number: String(13_000_000_000 + from + i),
  }));
const trackedCount = async () =>
  (
    await stack.t.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM tracked_numbers WHERE meeting_id = $1`,
      [MEETING],
    )
  )[0].n;
const TOO_MANY = {
  error: {
    code: 'too_many_tracked_numbers',
    message: `a meeting tracks at most ${CAP} numbers; this one would track more`,
  },
};

it('refuses tracked numbers beyond the cap with 409, whole requests at a time', async () => {
  await deliver(stack.t, buildEvent('meeting.started', { meetingId: MEETING }));
  for (let i = 0; i < 10; i++) {
    const res = await http()
      .put(`/v1/meetings/${MEETING}/tracked-numbers`)
      .set(bearer())
      .send({ phone_numbers: junk(i * 100, 100) });
    expect(res.status).toBe(200);
  }
  expect(await trackedCount()).toBe(CAP);

  // One number more, alone or among 99 tracked ones, or asked through the drop-in: 409.
  const more = [
    http()
      .put(`/v1/meetings/${MEETING}/tracked-numbers`)
      .set(bearer())
      .send({ phone_numbers: junk(CAP, 1) }),
    http()
      .put(`/v1/meetings/${MEETING}/tracked-numbers`)
      .set(bearer())
      .send({ phone_numbers: [...junk(0, 99), ...junk(CAP + 1, 1)] }),
    http()
      .post(`/v1/meetings/${MEETING}/phone/ms-open-id`)
      .set(bearer())
      .send({ phone_numbers: junk(CAP + 2, 1) }),
  ];
  for (const res of await Promise.all(more)) {
    expect({ status: res.status, body: res.body as unknown }).toEqual({
      status: 409,
      body: TOO_MANY,
    });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  }
  // Numbers already tracked are no more: registering them again is fine.
  const again = await http()
    .put(`/v1/meetings/${MEETING}/tracked-numbers`)
    .set(bearer())
    .send({ phone_numbers: junk(900, 100) });
  expect(again.status).toBe(200);
  expect(await trackedCount()).toBe(CAP);
  // No phone caller yet: nothing was asked of Tencent.
  expect(stack.fake.callsFor(MEETING)).toBe(0);
});

it('asks Tencent a bounded number of times for an anonymous caller, then stops', async () => {
  const joinedAt = Date.now();
  await deliver(
    stack.t,
    buildEvent('meeting.participant-joined', {
      meetingId: MEETING,
      msOpenId: 'anonymous-caller',
      operateTime: joinedAt,
    }),
  );
  await sleep(25_000 - (Date.now() - joinedAt));

  const calls = stack.fake.requests.filter(
    (r) => r.meetingId === MEETING && r.path.endsWith('/phone/ms-open-id'),
  );
  // Derivation. While the caller is connected and unmapped, a round asks every tracked
  // number not yet asked after the caller's call had settled (joinedAt + 10 s). Rounds follow
  // each other 1, 2, 5, 10, 30 s after the previous one ended, so they start at joinedAt + 0,
  // >= 1, >= 3, >= 8 and >= 18 s. The first four ask all 1000 numbers (the rounds before them
  // asked before joinedAt + 10 s: they take well under 2 s together here); the fifth asks
  // all 1000 once more, since the fourth asked them before joinedAt + 10 s; after the fifth
  // every number was asked after the call had settled, so no round follows. Five rounds of
  // 1000 numbers in calls of 100: 50 calls, 5000 numbers, the last before joinedAt + 20 s
  // or so. (Before the fix the follow-ups went on every 30 then 60 s with all 1000 numbers,
  // for the resolve horizon of 10 minutes.)
  expect({
    calls: calls.length,
    numbers: calls.reduce((sum, r) => sum + r.numbersAsked, 0),
    perCall: [...new Set(calls.map((r) => r.numbersAsked))],
  }).toEqual({ calls: 50, numbers: 5000, perCall: [100] });
  // The five rounds (calls less than half a second apart belong to one), ten calls each.
  const rounds: number[][] = [];
  for (const { time } of calls) {
    const last = rounds.at(-1);
    if (last && time - (last.at(-1) as number) < 500) last.push(time);
    else rounds.push([time]);
  }
  expect(rounds.map((round) => round.length)).toEqual([10, 10, 10, 10, 10]);
  expect(Math.max(...calls.map((r) => r.time)) - joinedAt).toBeLessThan(22_000);
  // What the service recorded agrees with what Tencent saw.
  const [attempts] = await stack.t.db.query<{ n: number; numbers: number }[]>(
    `SELECT count(*)::int AS n, sum(numbers_asked)::int AS numbers
         FROM resolution_attempts WHERE meeting_id = $1`,
    [MEETING],
  );
  expect(attempts).toEqual({ n: 50, numbers: 5000 });
  // And no follow-up is waiting: the resolver has let go of the meeting.
  const resolver: object = stack.t.app.get(MeetingResolver);
  const pending = (resolver as { meetings: Map<string, unknown> }).meetings;
  expect(pending.has(MEETING)).toBe(false);
}, 60_000);
