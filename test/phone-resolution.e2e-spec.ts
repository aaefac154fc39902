import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEventQueue } from '../src/queue/webhook-event.queue';
import type { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { deliver } from './support/deliver';
import { ADMIN_TOKEN, type TestApp } from './support/test-app';
import { startTestStack, type TestStack } from './support/test-stack';
import { buildEvent } from './support/webhook-fixtures';

describe('phone caller tracking and ms_open_id resolution', () => {
  let stack: TestStack;
  let fake: FakeTencentServer;
  let t: TestApp;

  beforeAll(async () => {
    stack = await startTestStack({ TENCENT_TIMEOUT_MS: '300' });
    ({ fake, t } = stack);
  });

  afterEach(() => fake.reset());

  afterAll(async () => {
    // Every request our client made was signed correctly.
    expect(fake.badSignatureCount).toBe(0);
    await stack.close();
  });

  const newMeeting = () => String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));
  /** Registers a number as a client does (the service keeps it without leading zeros). */
  const track = async (meetingId: string, area: string, phoneNumber: string) => {
    const res = await request(t.app.getHttpServer())
      .put(`/v1/meetings/${meetingId}/tracked-numbers`)
      .set({ authorization: `Bearer ${ADMIN_TOKEN}` })
      .send({ phone_numbers: [{ area, phone_number: phoneNumber }] });
    expect(res.status).toBe(200);
  };
  const mappings = (meetingId: string) =>
    t.db.query<{ ms_open_id: string; area: string; phone_number: string }[]>(
      `SELECT ms_open_id, area, phone_number FROM ms_open_id_mappings WHERE meeting_id = $1
        ORDER BY ms_open_id`,
      [meetingId],
    );
  const participant = async (meetingId: string, msOpenId: string) =>
    (
      await t.db.query<{ status: string }[]>(
        `SELECT status FROM pstn_participants WHERE meeting_id = $1 AND ms_open_id = $2`,
        [meetingId, msOpenId],
      )
    )[0]?.status;
  const attempts = (meetingId: string) =>
    t.db.query<{ outcome: string; error_code: number | null; http_status: number | null }[]>(
      `SELECT outcome, error_code, http_status FROM resolution_attempts WHERE meeting_id = $1
        ORDER BY id`,
      [meetingId],
    );
  const start = (meetingId: string) => deliver(t, buildEvent('meeting.started', { meetingId }));
  const join = (meetingId: string, msOpenId: string, extra: Record<string, unknown> = {}) =>
    deliver(t, buildEvent('meeting.participant-joined', { meetingId, msOpenId, ...extra }));

  it('turns a signed join webhook into a stored mapping, end to end', async () => {
    const meetingId = newMeeting();
    fake.connect(meetingId, 86, '13800000001', 'caller-1');
    await start(meetingId);
    // The webhook's own pstn_number is a full international number: it becomes tracked.
    await join(meetingId, 'caller-1', { pstnNumber: '+8613800000001' });
    await expect
      .poll(() => mappings(meetingId))
      .toEqual([{ ms_open_id: 'caller-1', area: '86', phone_number: '13800000001' }]);
    expect(await participant(meetingId, 'caller-1')).toBe('connected');
    expect(await attempts(meetingId)).toEqual([
      { outcome: 'ok', error_code: null, http_status: 200 },
    ]);
  });

  it('maps one landline that dials in twice to two ids', async () => {
    const meetingId = newMeeting();
    await track(meetingId, '86', '01012345678');
    await start(meetingId);
    fake.connect(meetingId, 86, '01012345678', 'line-a');
    await join(meetingId, 'line-a');
    await expect.poll(async () => (await mappings(meetingId)).length).toBe(1);
    fake.connect(meetingId, 86, '01012345678', 'line-b');
    await join(meetingId, 'line-b');
    await expect
      .poll(() => mappings(meetingId))
      .toEqual([
        { ms_open_id: 'line-a', area: '86', phone_number: '1012345678' },
        { ms_open_id: 'line-b', area: '86', phone_number: '1012345678' },
      ]);
  });

  it('lets a leave that arrives before its join win', async () => {
    const meetingId = newMeeting();
    await start(meetingId);
    const now = Date.now();
    await deliver(
      t,
      buildEvent('meeting.participant-left', { meetingId, msOpenId: 'late', operateTime: now }),
    );
    await join(meetingId, 'late', { operateTime: now - 5000 });
    await expect.poll(() => participant(meetingId, 'late')).toBe('left');
    const processed = async () =>
      Number(
        (
          await t.db.query<{ n: string }[]>(
            `SELECT count(*) AS n FROM webhook_events WHERE meeting_id = $1 AND status = 'processed'`,
            [meetingId],
          )
        )[0].n,
      );
    await expect.poll(processed).toBe(3);
    expect(await participant(meetingId, 'late')).toBe('left');
  });

  it('changes nothing when an event is processed again', async () => {
    const meetingId = newMeeting();
    await track(meetingId, '86', '13800000002');
    fake.connect(meetingId, 86, '13800000002', 'again-1');
    await start(meetingId);
    await join(meetingId, 'again-1');
    await expect.poll(async () => (await mappings(meetingId)).length).toBe(1);
    const snapshot = () =>
      t.db.query(
        `SELECT (SELECT count(*) FROM pstn_participants WHERE meeting_id = $1) AS participants,
                (SELECT count(*) FROM pstn_events WHERE meeting_id = $1) AS events,
                (SELECT count(*) FROM ms_open_id_mappings WHERE meeting_id = $1) AS mappings,
                (SELECT string_agg(status || joined_at::text, ',') FROM pstn_participants
                  WHERE meeting_id = $1) AS states`,
        [meetingId],
      );
    const before = await snapshot();
    const events = await t.db.query<{ id: string }[]>(
      `SELECT id FROM webhook_events WHERE meeting_id = $1`,
      [meetingId],
    );
    // As if a worker died after committing and the queue ran them again.
    expect(await t.app.get(WebhookEventQueue).replay(events.map((e) => e.id))).toBe(events.length);
    await expect
      .poll(async () =>
        Number(
          (
            await t.db.query<{ n: string }[]>(
              `SELECT count(*) AS n FROM webhook_events
                WHERE meeting_id = $1 AND status = 'processed' AND attempts = 2`,
              [meetingId],
            )
          )[0].n,
        ),
      )
      .toBe(events.length);
    expect(await snapshot()).toEqual(before);
  });

  it('closes every connected caller when the meeting ends, and stops resolving', async () => {
    const meetingId = newMeeting();
    await start(meetingId);
    await join(meetingId, 'end-1');
    await join(meetingId, 'end-2');
    await expect.poll(() => participant(meetingId, 'end-2')).toBe('connected');
    await deliver(t, buildEvent('meeting.end', { meetingId }));
    await expect.poll(() => participant(meetingId, 'end-1')).toBe('left');
    expect(await participant(meetingId, 'end-2')).toBe('left');
    const [meeting] = await t.db.query<{ status: string }[]>(
      `SELECT status FROM meetings WHERE meeting_id = $1`,
      [meetingId],
    );
    expect(meeting.status).toBe('ended');
  });

  it('ignores participants that are not phone callers', async () => {
    const meetingId = newMeeting();
    await start(meetingId);
    await join(meetingId, 'pc-user', { instanceId: '1' });
    await join(meetingId, 'phone-user', { instanceId: 0 });
    await expect.poll(() => participant(meetingId, 'phone-user')).toBe('connected');
    expect(await participant(meetingId, 'pc-user')).toBeUndefined();
    // Intake flags which events the worker needs to read; every one is marked processed.
    const events = await t.db.query<{ caller: string; affects_tracking: boolean }[]>(
      `SELECT payload->'payload'->0->'operator'->>'ms_open_id' AS caller, affects_tracking
         FROM webhook_events
        WHERE meeting_id = $1 AND event = 'meeting.participant-joined' AND status = 'processed'
        ORDER BY id`,
      [meetingId],
    );
    expect(events).toEqual([
      { caller: 'pc-user', affects_tracking: false },
      { caller: 'phone-user', affects_tracking: true },
    ]);
  });

  it('retries after an upstream 500 and resolves', async () => {
    const meetingId = newMeeting();
    await track(meetingId, '86', '13800000003');
    fake.connect(meetingId, 86, '13800000003', 'retry-500');
    fake.failWith({ status: 500 }, 1);
    await start(meetingId);
    await join(meetingId, 'retry-500');
    await expect.poll(async () => (await mappings(meetingId)).length).toBe(1);
    expect((await attempts(meetingId)).map((a) => [a.outcome, a.http_status])).toEqual([
      ['http_error', 500],
      ['ok', 200],
    ]);
  });

  it('times out a hanging upstream and retries', async () => {
    const meetingId = newMeeting();
    await track(meetingId, '86', '13800000004');
    fake.connect(meetingId, 86, '13800000004', 'after-hang');
    fake.hang(1);
    await start(meetingId);
    await join(meetingId, 'after-hang');
    await expect.poll(async () => (await mappings(meetingId)).length).toBe(1);
    expect((await attempts(meetingId)).map((a) => a.outcome)).toEqual(['timeout', 'ok']);
  });

  it('backs off after a rate-limit code, then resolves', async () => {
    const meetingId = newMeeting();
    await track(meetingId, '86', '13800000005');
    fake.connect(meetingId, 86, '13800000005', 'after-limit');
    fake.failWith({ status: 400, errorCode: 190310 }, 1);
    await start(meetingId);
    await join(meetingId, 'after-limit');
    await expect.poll(async () => (await mappings(meetingId)).length).toBe(1);
    expect((await attempts(meetingId)).map((a) => [a.outcome, a.error_code])).toEqual([
      ['tencent_error', 190310],
      ['ok', null],
    ]);
    const times = fake.requests
      .filter((request) => request.meetingId === meetingId)
      .map((request) => request.time);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(50);
  });

  it('does not retry a permission error, and records the attempt', async () => {
    const meetingId = newMeeting();
    await track(meetingId, '86', '13800000006');
    fake.connect(meetingId, 86, '13800000006', 'forbidden');
    fake.failWith({ status: 400, errorCode: 9042 });
    await start(meetingId);
    await join(meetingId, 'forbidden');
    await expect.poll(async () => (await attempts(meetingId)).length).toBe(1);
    // Longer than the first follow-up delay (1 s): nothing more was asked.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await attempts(meetingId)).toEqual([
      { outcome: 'tencent_error', error_code: 9042, http_status: 400 },
    ]);
    expect(fake.callsFor(meetingId)).toBe(1);
    expect(await mappings(meetingId)).toEqual([]);
  });

  it('makes at most 2 upstream calls for 50 phone joins within a second', async () => {
    const meetingId = newMeeting();
    await start(meetingId);
    for (let i = 0; i < 50; i += 1) {
      const number = `139${String(i).padStart(8, '0')}`;
      await track(meetingId, '86', number);
      fake.connect(meetingId, 86, number, `burst-${i}`);
    }
    await Promise.all(Array.from({ length: 50 }, (_, i) => join(meetingId, `burst-${i}`)));
    await expect.poll(async () => (await mappings(meetingId)).length, { timeout: 10_000 }).toBe(50);
    expect(fake.callsFor(meetingId)).toBeLessThanOrEqual(2);
    expect(fake.maxConcurrentFor(meetingId)).toBe(1);
  });

  it('records a callout answered as connected and resolves it', async () => {
    const meetingId = newMeeting();
    await track(meetingId, '86', '13800000007');
    await start(meetingId);
    fake.connect(meetingId, 86, '13800000007', 'callee');
    await deliver(
      t,
      buildEvent('meeting.phone.participant-status-updated', {
        meetingId,
        msOpenId: 'callee',
        status: 'START_ACCEPT',
        traceId: randomUUID(),
      }),
    );
    await expect
      .poll(() => mappings(meetingId))
      .toEqual([{ ms_open_id: 'callee', area: '86', phone_number: '13800000007' }]);
    expect(await participant(meetingId, 'callee')).toBe('connected');
    await deliver(
      t,
      buildEvent('meeting.phone.participant-status-updated', {
        meetingId,
        msOpenId: 'callee',
        status: 'LEAVE_WITH_ACCEPTED',
      }),
    );
    await expect.poll(() => participant(meetingId, 'callee')).toBe('left');
  });
});
