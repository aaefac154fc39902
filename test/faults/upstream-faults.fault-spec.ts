import { CircuitState } from 'cockatiel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TencentApi } from '../../src/tencent/tencent-api.client';
import type { FakeTencentServer } from '../../tools/fake-tencent/fake-tencent-server';
import { deliver } from '../support/deliver';
import type { TestApp } from '../support/test-app';
import { startTestStack, type TestStack } from '../support/test-stack';
import { buildEvent } from '../support/webhook-fixtures';

const MEETINGS = 12;
/** The service's share of the fake's limit, and the burst it may take at once. */
const RATE_PER_MINUTE = 50;
const BURST = 5;

let stack: TestStack;
let fake: FakeTencentServer;
let t: TestApp;

beforeAll(async () => {
  stack = await startTestStack(
    {
      TENCENT_TIMEOUT_MS: '300',
      TENCENT_RATE_LIMIT_PER_MINUTE: String(RATE_PER_MINUTE),
      TENCENT_RATE_LIMIT_BURST: String(BURST),
      SCHEDULER_ENABLED: 'false',
    },
    // The fake enforces Tencent's limit on the app: any call beyond it answers 190310.
    { ratePerMinute: RATE_PER_MINUTE + BURST },
  );
  ({ fake, t } = stack);
});

afterAll(() => stack?.close());

const mapped = async () =>
  Number((await t.db.query<{ n: string }[]>(`SELECT count(*) AS n FROM ms_open_id_mappings`))[0].n);

it('resolves everything after a 5xx storm, hangs and rate-limit codes, within the rate limit', async () => {
  const circuit = () => t.app.get(TencentApi, { strict: false }).circuitState;
  const states = new Set<CircuitState>();
  const watch = setInterval(() => states.add(circuit()), 20);

  // The storm: Tencent's rate-limit codes, then every call fails with 5xx.
  fake.failWith({ status: 200, errorCode: 190310, message: 'rate limited' }, 2);
  fake.failWith({ status: 200, errorCode: 190313, message: 'frequency limit' }, 2);
  fake.failWith({ status: 502, message: 'bad gateway' });
  const meetings = Array.from({ length: MEETINGS }, (_, i) => String(9_100_000_000 + i));
  for (const [i, meetingId] of meetings.entries()) {
    const number = `1390000${String(i).padStart(4, '0')}`;
    fake.connect(meetingId, 86, number, `storm-${i}`);
    await deliver(t, buildEvent('meeting.started', { meetingId }));
    await deliver(
      t,
      buildEvent('meeting.participant-joined', {
        meetingId,
        msOpenId: `storm-${i}`,
        pstnNumber: `+86${number}`,
      }),
    );
  }
  await expect.poll(circuit, { timeout: 20_000, interval: 50 }).toBe(CircuitState.Open);

  // The storm ends, but the first trial call hangs: the circuit opens again, then closes.
  fake.reset();
  fake.hang(1);

  // Recovery: every caller is mapped once, and the circuit has closed again.
  await expect.poll(mapped, { timeout: 150_000, interval: 500 }).toBe(MEETINGS);
  clearInterval(watch);
  expect(states).toContain(CircuitState.Open);
  expect(states).toContain(CircuitState.HalfOpen);
  expect(circuit()).toBe(CircuitState.Closed);

  // Never beyond the limit: the fake refused nothing on its own account, and no window of
  // the service's calls holds more than its burst plus its rate over the window.
  expect(fake.rateLimitedCount).toBe(0);
  const times = fake.requests.filter((r) => r.path.endsWith('/ms-open-id')).map((r) => r.time);
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
