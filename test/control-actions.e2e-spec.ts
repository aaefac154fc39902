import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClientsService } from '../src/auth/api-clients.service';
import { FakeTencentServer, type RecordedRequest } from '../tools/fake-tencent/fake-tencent-server';
import { deliver } from './support/deliver';
import {
  ADMIN_TOKEN,
  startTestApp,
  TENCENT_CREDENTIALS,
  testEnv,
  type TestApp,
} from './support/test-app';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { buildEvent } from './support/webhook-fixtures';

interface OpenApiOperation {
  security: unknown;
  parameters: { name: string }[];
  requestBody: { content: Record<string, { schema: { properties: object } }> };
}

const OPERATOR = 'test-operator';
const operatorFields = { operator_id: OPERATOR, operator_id_type: 1, instanceid: 1 };
const phoneTarget = (msOpenId: string) => ({
  to_operator_id: msOpenId,
  to_operator_id_type: 4,
  instanceid: 0,
});

describe('acting on phone callers by number', () => {
  let databaseUrl: string;
  let fake: FakeTencentServer;
  let t: TestApp;
  let controlToken: string;
  let lookupToken: string;
  const logLines: string[] = [];
  /** Every number this file uses, for the search of the logs. */
  const usedNumbers = new Set<string>();
  let nextNumber = 0;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    // The fake knows the meetings' host: a call naming another operator would answer 9042.
    fake = new FakeTencentServer({ ...TENCENT_CREDENTIALS, operatorId: OPERATOR });
    t = await startTestApp(
      testEnv(databaseUrl, {
        TENCENT_API_BASE_URL: await fake.start(),
        TENCENT_OPERATOR_ID: OPERATOR,
        TENCENT_TIMEOUT_MS: '500',
        TENCENT_MAX_ATTEMPTS: '2',
        LOG_LEVEL: 'debug',
      }),
      { logDestination: { write: (line: string) => logLines.push(line) } },
    );
    const clients = t.app.get(ApiClientsService);
    controlToken = (await clients.create('meeting-control', ['control'])).token;
    lookupToken = (await clients.create('lookups-only', ['lookup'])).token;
  });

  afterEach(() => fake.reset());

  afterAll(async () => {
    expect(fake.badSignatureCount).toBe(0);
    await t.close();
    await fake.close();
    await dropTestDatabase(databaseUrl);
  });

  const http = () => request(t.app.getHttpServer());
  const newMeeting = () => String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));
  const newNumber = () => {
    nextNumber += 1;
    const number = `1370${String(nextNumber).padStart(7, '0')}`;
    usedNumbers.add(number);
    return number;
  };
  const phone = (number: string) => ({ area: 86, phone_number: number });
  const act = (meetingId: string, body: object, headers: Record<string, string> = {}) =>
    http()
      .post(`/v1/meetings/${meetingId}/phone-callers/actions`)
      .set({ authorization: `Bearer ${controlToken}`, ...headers })
      .send(body);
  const rows = <T>(sql: string, params: unknown[] = []) => t.db.query<T[]>(sql, params);
  /** The meeting-control calls the fake received for a meeting, in order. */
  const controlCalls = (meetingId: string): RecordedRequest[] =>
    fake.requests.filter(
      (r) => r.meetingId === meetingId && /\/(mutes|kickout|names)$/.test(r.path),
    );
  const recorded = (meetingId: string) =>
    rows<{ action: string; results: unknown; upstream_attempts: number }>(
      `SELECT action, results, upstream_attempts FROM control_actions
        WHERE meeting_id = $1 ORDER BY id`,
      [meetingId],
    );
  const inMeeting = (nickName: string, muted = false) => ({
    connected: true,
    muted,
    nickName,
    instanceid: 0,
    kicked: false,
    allowRejoin: null,
  });
  /** A counter's value (0 before its first count) for exactly these labels. */
  const metric = async (name: string, labels: string) => {
    const text = (await http().get('/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const defaultName = (number: string) => `${number.slice(0, 3)}****${number.slice(-4)}`;

  /** Waits until `check` holds; usable in hooks too, where expect.poll is not. */
  const eventually = (check: () => Promise<boolean>) =>
    vi.waitFor(
      async () => {
        if (!(await check())) throw new Error('not yet');
      },
      { timeout: 5_000, interval: 20 },
    );

  async function startedMeeting(): Promise<string> {
    const meetingId = newMeeting();
    await deliver(t, buildEvent('meeting.started', { meetingId }));
    await eventually(
      async () =>
        (await rows(`SELECT 1 FROM meetings WHERE meeting_id = $1`, [meetingId])).length === 1,
    );
    return meetingId;
  }

  const isConnected = async (meetingId: string, msOpenId: string) =>
    (
      await rows(
        `SELECT 1 FROM pstn_participants
          WHERE meeting_id = $1 AND ms_open_id = $2 AND status = 'connected'`,
        [meetingId, msOpenId],
      )
    ).length === 1;
  const isMapped = async (meetingId: string, msOpenId: string) =>
    (
      await rows(`SELECT 1 FROM ms_open_id_mappings WHERE meeting_id = $1 AND ms_open_id = $2`, [
        meetingId,
        msOpenId,
      ])
    ).length === 1;

  /** A phone caller dials in (its number in the webhook) and is resolved through the fake. */
  async function dialIn(meetingId: string, number: string, msOpenId: string): Promise<void> {
    fake.connect(meetingId, 86, number, msOpenId);
    await deliver(
      t,
      buildEvent('meeting.participant-joined', { meetingId, msOpenId, pstnNumber: `+86${number}` }),
    );
    await eventually(() => isMapped(meetingId, msOpenId));
    await eventually(() => isConnected(meetingId, msOpenId));
  }

  /** A started meeting with one resolved phone caller. */
  async function meetingWithCaller(
    msOpenId: string,
  ): Promise<{ meetingId: string; number: string }> {
    const meetingId = await startedMeeting();
    const number = newNumber();
    await dialIn(meetingId, number, msOpenId);
    return { meetingId, number };
  }

  describe('each action, by number and by id', () => {
    it('mutes and unmutes a caller by number, one mutes call each', async () => {
      const { meetingId, number } = await meetingWithCaller('mute-1');
      const muted = await act(meetingId, { action: 'mute', phone_numbers: [phone(number)] });
      expect(muted.status).toBe(200);
      expect(muted.body).toEqual({
        meeting_id: meetingId,
        action: 'mute',
        results: [{ area: 86, phone_number: number, ms_open_id: 'mute-1', outcome: 'done' }],
      });
      expect(fake.participant(meetingId, 'mute-1')).toEqual(inMeeting(defaultName(number), true));

      const unmuted = await act(meetingId, { action: 'unmute', phone_numbers: [phone(number)] });
      expect(unmuted.status).toBe(200);
      expect(unmuted.body.results).toEqual([
        { area: 86, phone_number: number, ms_open_id: 'mute-1', outcome: 'done' },
      ]);
      expect(fake.participant(meetingId, 'mute-1')).toEqual(inMeeting(defaultName(number)));
      expect(controlCalls(meetingId).map((r) => [r.method, r.path, r.body, r.status])).toEqual([
        [
          'PUT',
          `/v1/real-control/meetings/${meetingId}/mutes`,
          { ...operatorFields, mute: true, user: phoneTarget('mute-1') },
          200,
        ],
        [
          'PUT',
          `/v1/real-control/meetings/${meetingId}/mutes`,
          { ...operatorFields, mute: false, user: phoneTarget('mute-1') },
          200,
        ],
      ]);
    });

    it('mutes and unmutes by ms_open_id, echoing the id', async () => {
      const { meetingId, number } = await meetingWithCaller('mute-id-1');
      const muted = await act(meetingId, { action: 'mute', ms_open_ids: ['mute-id-1'] });
      expect(muted.status).toBe(200);
      expect(muted.body).toEqual({
        meeting_id: meetingId,
        action: 'mute',
        results: [{ ms_open_id: 'mute-id-1', outcome: 'done' }],
      });
      expect(fake.participant(meetingId, 'mute-id-1')?.muted).toBe(true);
      const unmuted = await act(meetingId, { action: 'unmute', ms_open_ids: ['mute-id-1'] });
      expect(unmuted.body.results).toEqual([{ ms_open_id: 'mute-id-1', outcome: 'done' }]);
      expect(fake.participant(meetingId, 'mute-id-1')).toEqual(inMeeting(defaultName(number)));
      expect(controlCalls(meetingId)).toHaveLength(2);
    });

    it('kicks by number, with allow_rejoin as asked', async () => {
      const { meetingId, number } = await meetingWithCaller('kick-1');
      const res = await act(meetingId, {
        action: 'kick',
        phone_numbers: [phone(number)],
        allow_rejoin: false,
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        meeting_id: meetingId,
        action: 'kick',
        results: [{ area: 86, phone_number: number, ms_open_id: 'kick-1', outcome: 'done' }],
      });
      expect(fake.participant(meetingId, 'kick-1')).toEqual({
        connected: false,
        muted: false,
        nickName: defaultName(number),
        instanceid: 0,
        kicked: true,
        allowRejoin: false,
      });
      expect(controlCalls(meetingId).map((r) => [r.path, r.body])).toEqual([
        [
          `/v1/real-control/meetings/${meetingId}/kickout`,
          { ...operatorFields, allow_rejoin: false, users: [phoneTarget('kick-1')] },
        ],
      ]);
    });

    it('kicks by id, letting the caller rejoin unless told otherwise', async () => {
      const { meetingId } = await meetingWithCaller('kick-id-1');
      const res = await act(meetingId, { action: 'kick', ms_open_ids: ['kick-id-1'] });
      expect(res.body.results).toEqual([{ ms_open_id: 'kick-id-1', outcome: 'done' }]);
      expect(fake.participant(meetingId, 'kick-id-1')).toMatchObject({
        connected: false,
        kicked: true,
        allowRejoin: true,
      });
      expect(controlCalls(meetingId).map((r) => r.body)).toEqual([
        { ...operatorFields, allow_rejoin: true, users: [phoneTarget('kick-id-1')] },
      ]);
    });

    it('renames by number and by id, 20 characters counted as characters', async () => {
      const { meetingId, number } = await meetingWithCaller('rename-1');
      const byNumber = await act(meetingId, {
        action: 'rename',
        phone_numbers: [{ area: '86', phone_number: Number(number) }],
        nick_name: 'Guest speaker',
      });
      expect(byNumber.status).toBe(200);
      expect(byNumber.body.results).toEqual([
        { area: '86', phone_number: Number(number), ms_open_id: 'rename-1', outcome: 'done' },
      ]);
      expect(fake.participant(meetingId, 'rename-1')?.nickName).toBe('Guest speaker');
      const chinese = '会议室电话'.repeat(4);
      const byId = await act(meetingId, {
        action: 'rename',
        ms_open_ids: ['rename-1'],
        nick_name: chinese,
      });
      expect(byId.body.results).toEqual([{ ms_open_id: 'rename-1', outcome: 'done' }]);
      expect(fake.participant(meetingId, 'rename-1')).toEqual(inMeeting(chinese));
      expect(controlCalls(meetingId).map((r) => r.body)).toEqual([
        {
          ...operatorFields,
          users: [{ ms_open_id: 'rename-1', instanceid: 0, nick_name: 'Guest speaker' }],
        },
        {
          ...operatorFields,
          users: [{ ms_open_id: 'rename-1', instanceid: 0, nick_name: chinese }],
        },
      ]);
    });
  });

  it('acts on every connected id of a landline that dialled in twice: one kickout call with both', async () => {
    const meetingId = await startedMeeting();
    const landline = newNumber();
    await dialIn(meetingId, landline, 'land-1');
    await dialIn(meetingId, landline, 'land-2');
    // A third call of the line, hung up since, is not acted on.
    await dialIn(meetingId, landline, 'land-3');
    fake.disconnect(meetingId, 'land-3');
    await deliver(t, buildEvent('meeting.participant-left', { meetingId, msOpenId: 'land-3' }));
    await expect.poll(() => isConnected(meetingId, 'land-3')).toBe(false);

    const res = await act(meetingId, { action: 'kick', phone_numbers: [phone(landline)] });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { area: 86, phone_number: landline, ms_open_id: 'land-1', outcome: 'done' },
      { area: 86, phone_number: landline, ms_open_id: 'land-2', outcome: 'done' },
    ]);
    const calls = controlCalls(meetingId);
    expect(calls).toHaveLength(1);
    expect(calls[0].targets).toEqual(['land-1', 'land-2']);
    expect(fake.participant(meetingId, 'land-1')?.kicked).toBe(true);
    expect(fake.participant(meetingId, 'land-2')?.kicked).toBe(true);
  });

  describe('a caller who is not there yet', () => {
    it('waits for a number that connects meanwhile, and answers soon after its join', async () => {
      const meetingId = await startedMeeting();
      const number = newNumber();
      const started = Date.now();
      const pending = act(meetingId, {
        action: 'mute',
        phone_numbers: [phone(number)],
        wait_ms: 15_000,
      }).then((res) => ({ res, at: Date.now() }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // No number in the webhook: the action's own request tracked it.
      fake.connect(meetingId, 86, number, 'late-1');
      const joinedAt = Date.now();
      await deliver(t, buildEvent('meeting.participant-joined', { meetingId, msOpenId: 'late-1' }));
      const { res, at } = await pending;
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([
        { area: 86, phone_number: number, ms_open_id: 'late-1', outcome: 'done' },
      ]);
      expect(fake.participant(meetingId, 'late-1')?.muted).toBe(true);
      expect(at - joinedAt).toBeLessThan(3_000);
      expect(at - started).toBeGreaterThanOrEqual(300);
      expect(
        fake.requests.filter((r) => r.meetingId === meetingId).map((r) => r.path.split('/').pop()),
      ).toEqual(['ms-open-id', 'mutes']);
    });

    it('asks Tencent for the id of a caller who joined before the number was known, as an action', async () => {
      const meetingId = await startedMeeting();
      const number = newNumber();
      fake.connect(meetingId, 86, number, 'early-1');
      // No number in the webhook and none tracked: the join alone resolves nothing.
      await deliver(
        t,
        buildEvent('meeting.participant-joined', { meetingId, msOpenId: 'early-1' }),
      );
      await expect.poll(() => isConnected(meetingId, 'early-1')).toBe(true);
      expect(fake.callsFor(meetingId)).toBe(0);
      const actionLookups = () =>
        metric('pstn_upstream_calls_total', 'endpoint="ms-open-id",purpose="action",outcome="ok"');
      const before = await actionLookups();
      const res = await act(meetingId, { action: 'mute', phone_numbers: [phone(number)] });
      expect(res.body.results).toEqual([
        { area: 86, phone_number: number, ms_open_id: 'early-1', outcome: 'done' },
      ]);
      expect(await actionLookups()).toBe(before + 1);
      expect(
        fake.requests.filter((r) => r.meetingId === meetingId).map((r) => r.path.split('/').pop()),
      ).toEqual(['ms-open-id', 'mutes']);
    });

    it('answers not_connected for a number that never connects, with no upstream call', async () => {
      const meetingId = await startedMeeting();
      const number = newNumber();
      const started = Date.now();
      const res = await act(meetingId, {
        action: 'kick',
        phone_numbers: [phone(number)],
        wait_ms: 400,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        meeting_id: meetingId,
        action: 'kick',
        results: [{ area: 86, phone_number: number, outcome: 'not_connected' }],
      });
      expect(fake.callsFor(meetingId)).toBe(0);
    });

    it('acts on the callers that are there and answers not_connected for the others', async () => {
      const { meetingId, number } = await meetingWithCaller('here-1');
      const absent = newNumber();
      const res = await act(meetingId, {
        action: 'mute',
        phone_numbers: [phone(absent), phone(number)],
        wait_ms: 0,
      });
      expect(res.body.results).toEqual([
        { area: 86, phone_number: absent, outcome: 'not_connected' },
        { area: 86, phone_number: number, ms_open_id: 'here-1', outcome: 'done' },
      ]);
      expect(controlCalls(meetingId).map((r) => r.targets)).toEqual([['here-1']]);
    });

    it('answers not_connected for an id it does not know as a connected phone caller', async () => {
      const { meetingId } = await meetingWithCaller('known-1');
      fake.joinApp(meetingId, 'app-user-1');
      const res = await act(meetingId, {
        action: 'kick',
        ms_open_ids: ['app-user-1', 'known-1', 'never-seen'],
        wait_ms: 200,
      });
      expect(res.body.results).toEqual([
        { ms_open_id: 'app-user-1', outcome: 'not_connected' },
        { ms_open_id: 'known-1', outcome: 'done' },
        { ms_open_id: 'never-seen', outcome: 'not_connected' },
      ]);
      expect(controlCalls(meetingId).map((r) => r.targets)).toEqual([['known-1']]);
    });

    it('stops waiting when the meeting ends', async () => {
      const meetingId = await startedMeeting();
      const number = newNumber();
      const pending = act(meetingId, {
        action: 'mute',
        phone_numbers: [phone(number)],
        wait_ms: 20_000,
      }).then((res) => ({ res, at: Date.now() }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const endedAt = Date.now();
      await deliver(t, buildEvent('meeting.end', { meetingId }));
      const { res, at } = await pending;
      expect(res.body.results).toEqual([
        { area: 86, phone_number: number, outcome: 'not_connected' },
      ]);
      expect(at - endedAt).toBeLessThan(3_000);
      expect(fake.callsFor(meetingId)).toBe(0);
    });
  });

  describe('Tencent refusing or failing', () => {
    it('answers failed with the code of a permission error, and does not retry it', async () => {
      const { meetingId, number } = await meetingWithCaller('denied-1');
      fake.failWith({ status: 400, errorCode: 9042, message: 'no permission' }, 1, 'mutes');
      const res = await act(meetingId, { action: 'mute', phone_numbers: [phone(number)] });
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([
        {
          area: 86,
          phone_number: number,
          ms_open_id: 'denied-1',
          outcome: 'failed',
          error: { code: '9042', message: 'no permission' },
        },
      ]);
      expect(controlCalls(meetingId).map((r) => r.status)).toEqual([400]);
      expect(fake.participant(meetingId, 'denied-1')?.muted).toBe(false);
    });

    it('sends a kick that timed out only once: it may have happened', async () => {
      const { meetingId, number } = await meetingWithCaller('kick-hang-1');
      fake.hang(1);
      const res = await act(meetingId, { action: 'kick', phone_numbers: [phone(number)] });
      expect(res.body.results).toEqual([
        {
          area: 86,
          phone_number: number,
          ms_open_id: 'kick-hang-1',
          outcome: 'failed',
          error: { code: 'upstream_timeout', message: 'Tencent did not answer in time' },
        },
      ]);
      // The hung request is recorded with status 0, and no second one was made.
      expect(controlCalls(meetingId).map((r) => r.status)).toEqual([0]);
    });

    it('retries a mute after a 5xx: the second attempt mutes', async () => {
      const { meetingId, number } = await meetingWithCaller('retried-1');
      fake.failWith({ status: 502, message: 'bad gateway' }, 1, 'mutes');
      const res = await act(meetingId, { action: 'mute', phone_numbers: [phone(number)] });
      expect(res.body.results).toEqual([
        { area: 86, phone_number: number, ms_open_id: 'retried-1', outcome: 'done' },
      ]);
      expect(controlCalls(meetingId).map((r) => r.status)).toEqual([502, 200]);
      expect(fake.participant(meetingId, 'retried-1')?.muted).toBe(true);
      expect((await recorded(meetingId)).map((row) => row.upstream_attempts)).toEqual([2]);
    });

    it('answers failed with the code once every attempt at a mute failed', async () => {
      const { meetingId, number } = await meetingWithCaller('down-1');
      fake.failWith({ status: 500, errorCode: 500001, message: 'service busy' }, 2, 'mutes');
      const res = await act(meetingId, { action: 'mute', phone_numbers: [phone(number)] });
      expect(res.body.results).toEqual([
        {
          area: 86,
          phone_number: number,
          ms_open_id: 'down-1',
          outcome: 'failed',
          error: { code: '500001', message: 'service busy' },
        },
      ]);
      // TENCENT_MAX_ATTEMPTS is 2 here.
      expect(controlCalls(meetingId).map((r) => r.status)).toEqual([500, 500]);
    });

    it('sends a kick once: a 5xx is answered failed, not retried', async () => {
      const { meetingId, number } = await meetingWithCaller('kick-5xx-1');
      fake.failWith({ status: 503, message: 'unavailable' }, 1, 'kickout');
      const res = await act(meetingId, { action: 'kick', phone_numbers: [phone(number)] });
      expect(res.body.results).toEqual([
        {
          area: 86,
          phone_number: number,
          ms_open_id: 'kick-5xx-1',
          outcome: 'failed',
          error: { code: 'upstream_http_503', message: 'unavailable' },
        },
      ]);
      expect(controlCalls(meetingId).map((r) => r.status)).toEqual([503]);
      expect(fake.participant(meetingId, 'kick-5xx-1')?.connected).toBe(true);
    });

    it('answers failed for a caller Tencent no longer has in the meeting', async () => {
      const { meetingId, number } = await meetingWithCaller('gone-1');
      // Tencent's roster lost the caller before its leave webhook reached the service.
      fake.disconnect(meetingId, 'gone-1');
      const res = await act(meetingId, {
        action: 'rename',
        phone_numbers: [phone(number)],
        nick_name: 'x',
      });
      expect(res.body.results).toEqual([
        {
          area: 86,
          phone_number: number,
          ms_open_id: 'gone-1',
          outcome: 'failed',
          error: { code: '190004', message: 'user not in meeting' },
        },
      ]);
    });
  });

  describe('Idempotency-Key', () => {
    it('answers the first result again without calling Tencent, and 409 for another body', async () => {
      const { meetingId, number } = await meetingWithCaller('idem-1');
      const key = { 'idempotency-key': `key-${meetingId}` };
      const body = { action: 'mute', phone_numbers: [phone(number)] };
      const first = await act(meetingId, body, key);
      expect(first.status).toBe(200);
      const again = await act(meetingId, body, key);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(controlCalls(meetingId)).toHaveLength(1);

      const other = await act(meetingId, { ...body, action: 'unmute' }, key);
      expect(other.status).toBe(409);
      expect(other.body).toEqual({
        error: {
          code: 'idempotency_key_reused',
          message: 'this Idempotency-Key was used with another request in the last 24 hours',
        },
      });
      const elsewhere = await act(newMeeting(), body, key);
      expect(elsewhere.status).toBe(409);
      expect(controlCalls(meetingId)).toHaveLength(1);
      expect(await recorded(meetingId)).toHaveLength(1);

      // The same key of another client is another key.
      const otherClient = await http()
        .post(`/v1/meetings/${meetingId}/phone-callers/actions`)
        .set({ authorization: `Bearer ${ADMIN_TOKEN}`, ...key })
        .send({ ...body, action: 'unmute' });
      expect(otherClient.status).toBe(200);
      expect(controlCalls(meetingId)).toHaveLength(2);
    });

    it('lets one of two concurrent requests with a key act; the other is a 409 until it answers', async () => {
      const meetingId = await startedMeeting();
      const number = newNumber();
      const key = { 'idempotency-key': `wait-${meetingId}` };
      const body = { action: 'mute', phone_numbers: [phone(number)], wait_ms: 1_000 };
      const first = act(meetingId, body, key).then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const second = await act(meetingId, body, key);
      expect(second.status).toBe(409);
      expect(second.body.error).toEqual({
        code: 'idempotency_key_in_progress',
        message:
          'a request with this Idempotency-Key is still in progress; ask again once it has answered',
      });
      const answered = await first;
      expect(answered.body.results).toEqual([
        { area: 86, phone_number: number, outcome: 'not_connected' },
      ]);
      const third = await act(meetingId, body, key);
      expect(third.status).toBe(200);
      expect(third.body).toEqual(answered.body);
    });

    it('forgets a key after 24 hours', async () => {
      const { meetingId, number } = await meetingWithCaller('idem-old-1');
      const key = { 'idempotency-key': `old-${meetingId}` };
      expect(
        (await act(meetingId, { action: 'mute', ms_open_ids: ['idem-old-1'] }, key)).status,
      ).toBe(200);
      await t.db.query(
        `UPDATE control_actions SET created_at = now() - interval '25 hours' WHERE meeting_id = $1`,
        [meetingId],
      );
      const later = await act(meetingId, { action: 'unmute', phone_numbers: [phone(number)] }, key);
      expect(later.status).toBe(200);
      expect(fake.participant(meetingId, 'idem-old-1')?.muted).toBe(false);
      expect(controlCalls(meetingId)).toHaveLength(2);
    });

    it('frees the key of a request that failed before acting', async () => {
      const meetingId = newMeeting();
      const key = { 'idempotency-key': `full-${meetingId}` };
      // The meeting tracks as many numbers as it may.
      await t.db.query(
        `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source)
         SELECT $1, '86', (13900000000 + i)::text, 'api' FROM generate_series(1, 500) AS i`,
        [meetingId],
      );
      const number = newNumber();
      const refused = await act(meetingId, { action: 'mute', phone_numbers: [phone(number)] }, key);
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('too_many_tracked_numbers');
      expect(await recorded(meetingId)).toEqual([]);
      const byId = await act(meetingId, { action: 'mute', ms_open_ids: ['x'], wait_ms: 0 }, key);
      expect(byId.status).toBe(200);
      expect(byId.body.results).toEqual([{ ms_open_id: 'x', outcome: 'not_connected' }]);
    });
  });

  it('publishes the route in the OpenAPI document, with its body schema', async () => {
    const doc = (await http().get('/docs-json')).body as {
      paths: Record<string, Record<string, OpenApiOperation>>;
    };
    const operation = doc.paths['/v1/meetings/{meetingId}/phone-callers/actions'].post;
    expect(operation.security).toEqual([{ bearer: [] }]);
    expect(
      Object.keys(operation.requestBody.content['application/json'].schema.properties),
    ).toEqual(['action', 'phone_numbers', 'ms_open_ids', 'nick_name', 'allow_rejoin', 'wait_ms']);
    expect(operation.parameters.map((p) => p.name).sort()).toEqual([
      'Idempotency-Key',
      'meetingId',
    ]);
    expect(Object.keys(doc.paths)).toContain('/admin/control-actions');
  });

  describe('who may act', () => {
    it('answers 401 without a token and 403 to a lookup token', async () => {
      const path = `/v1/meetings/${newMeeting()}/phone-callers/actions`;
      const anonymous = await http()
        .post(path)
        .send({ action: 'mute', ms_open_ids: ['a'] });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error).toEqual({
        code: 'unauthorized',
        message: 'an Authorization: Bearer token is required',
      });
      const lookup = await http()
        .post(path)
        .set({ authorization: `Bearer ${lookupToken}` })
        .send({ action: 'mute', ms_open_ids: ['a'] });
      expect(lookup.status).toBe(403);
      expect(lookup.body.error).toEqual({
        code: 'forbidden',
        message: 'this route needs the "control" scope',
      });
    });

    it('creates control clients through the admin route; control does not include lookup', async () => {
      const created = await http()
        .post('/admin/api-clients')
        .set({ authorization: `Bearer ${ADMIN_TOKEN}` })
        .send({ name: 'controller', scopes: ['control'] });
      expect(created.status).toBe(201);
      expect(created.body.scopes).toEqual(['control']);
      const auth = { authorization: `Bearer ${created.body.token as string}` };
      const meetingId = newMeeting();
      const acted = await http()
        .post(`/v1/meetings/${meetingId}/phone-callers/actions`)
        .set(auth)
        .send({ action: 'unmute', ms_open_ids: ['a'], wait_ms: 0 });
      expect(acted.status).toBe(200);
      const lookup = await http().get(`/v1/meetings/${meetingId}/pstn-participants`).set(auth);
      expect(lookup.status).toBe(403);
      expect(lookup.body.error.message).toBe('this route needs the "lookup" scope');
    });
  });

  describe('bad requests change nothing and send nothing upstream', () => {
    let meetingId: string;
    let number: string;

    beforeAll(async () => {
      ({ meetingId, number } = await meetingWithCaller('bad-1'));
    });

    const ids = (n: number) => Array.from({ length: n }, (_, i) => `id-${i}`);
    const numbers = (n: number) =>
      Array.from({ length: n }, (_, i) => phone(String(13800000000 + i)));
    it.each([
      [
        'both lists',
        () => ({ action: 'mute', phone_numbers: [phone(number)], ms_open_ids: ['bad-1'] }),
        'send phone_numbers or ms_open_ids, not both',
      ],
      ['neither list', () => ({ action: 'mute' }), 'phone_numbers or ms_open_ids is required'],
      [
        '21 numbers',
        () => ({ action: 'mute', phone_numbers: numbers(21) }),
        'phone_numbers must NOT have more than 20 items',
      ],
      [
        '21 ids',
        () => ({ action: 'mute', ms_open_ids: ids(21) }),
        'ms_open_ids must NOT have more than 20 items',
      ],
      [
        'an empty list',
        () => ({ action: 'mute', ms_open_ids: [] }),
        'ms_open_ids must NOT have fewer than 1 items',
      ],
      [
        'rename without nick_name',
        () => ({ action: 'rename', phone_numbers: [phone(number)] }),
        'nick_name is required for rename',
      ],
      [
        'nick_name on mute',
        () => ({ action: 'mute', phone_numbers: [phone(number)], nick_name: 'x' }),
        'nick_name is only for rename',
      ],
      [
        'a nick_name of 21 characters',
        () => ({ action: 'rename', phone_numbers: [phone(number)], nick_name: 'x'.repeat(21) }),
        'nick_name must be 1 to 20 characters, none of them a control character or a lone surrogate',
      ],
      [
        'an empty nick_name',
        () => ({ action: 'rename', phone_numbers: [phone(number)], nick_name: '' }),
        'nick_name must be 1 to 20 characters, none of them a control character or a lone surrogate',
      ],
      [
        'a nick_name with a control character',
        () => ({ action: 'rename', phone_numbers: [phone(number)], nick_name: 'a\nb' }),
        'nick_name must be 1 to 20 characters, none of them a control character or a lone surrogate',
      ],
      [
        'a nick_name with a lone surrogate',
        () => ({ action: 'rename', phone_numbers: [phone(number)], nick_name: 'a\ud800b' }),
        'nick_name must be 1 to 20 characters, none of them a control character or a lone surrogate',
      ],
      [
        'wait_ms 30001',
        () => ({ action: 'mute', phone_numbers: [phone(number)], wait_ms: 30_001 }),
        'wait_ms must be a whole number of milliseconds from 0 to 30000',
      ],
      [
        'wait_ms as a string',
        () => ({ action: 'mute', phone_numbers: [phone(number)], wait_ms: '100' }),
        'wait_ms must be a whole number of milliseconds from 0 to 30000',
      ],
      [
        'an unknown action',
        () => ({ action: 'hold', phone_numbers: [phone(number)] }),
        'action must be one of mute, unmute, kick, rename',
      ],
      ['no action', () => ({ phone_numbers: [phone(number)] }), 'action is required'],
      [
        'allow_rejoin on mute',
        () => ({ action: 'mute', phone_numbers: [phone(number)], allow_rejoin: true }),
        'allow_rejoin is only for kick',
      ],
      [
        'an unknown field',
        () => ({ action: 'kick', phone_numbers: [phone(number)], reason: 'x' }),
        'property reason should not exist',
      ],
      [
        'a bad number',
        () => ({ action: 'mute', phone_numbers: [{ area: 86, phone_number: '138-0000' }] }),
        'phone_numbers.0.phone_number must be 4 to 20 digits, as a number or a digit string',
      ],
      [
        'a bad id',
        () => ({ action: 'mute', ms_open_ids: ['has space'] }),
        'ms_open_ids.0 must be 1 to 128 printable characters',
      ],
    ])('answers 400 for %s', async (_name, body, message) => {
      const res = await act(meetingId, body());
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'bad_request', message } });
    });

    it('answers 400 for a malformed meeting id and a malformed Idempotency-Key', async () => {
      const badMeeting = await act('12ab', { action: 'mute', ms_open_ids: ['bad-1'] });
      expect(badMeeting.status).toBe(400);
      expect(badMeeting.body.error.message).toBe('meetingId must be a string of up to 32 digits');
      const badKey = await act(
        meetingId,
        { action: 'mute', ms_open_ids: ['bad-1'] },
        { 'idempotency-key': 'two words' },
      );
      expect(badKey.status).toBe(400);
      expect(badKey.body.error.message).toBe(
        'Idempotency-Key must be 1 to 255 printable characters, without spaces',
      );
    });

    afterAll(async () => {
      // Every case above was refused before anything was recorded or sent.
      expect(controlCalls(meetingId)).toEqual([]);
      expect(await recorded(meetingId)).toEqual([]);
      expect(fake.participant(meetingId, 'bad-1')).toEqual(inMeeting(defaultName(number)));
    });
  });

  describe('the record of actions', () => {
    it('lists every action at /admin/control-actions, newest first, filtered, paged and masked', async () => {
      const { meetingId, number } = await meetingWithCaller('audit-1');
      const absent = newNumber();
      await act(meetingId, {
        action: 'mute',
        phone_numbers: [phone(number), phone(absent)],
        wait_ms: 0,
      });
      fake.failWith({ status: 400, errorCode: 9042, message: 'no permission' }, 1, 'kickout');
      await act(meetingId, { action: 'kick', ms_open_ids: ['audit-1'], allow_rejoin: false });

      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const list = await http().get(`/admin/control-actions?meeting_id=${meetingId}`).set(admin);
      expect(list.status).toBe(200);
      const masked = (n: string) => `+86 ${n.slice(0, 3)}****${n.slice(-4)}`;
      expect(list.body).toMatchObject({ page: 1, page_size: 50, total: 2 });
      const [kick, mute] = list.body.items;
      expect(kick).toEqual({
        id: expect.any(String),
        created_at: expect.any(String),
        answered_at: expect.any(String),
        client_name: 'meeting-control',
        meeting_id: meetingId,
        action: 'kick',
        allow_rejoin: false,
        phone_numbers: null,
        ms_open_ids: ['audit-1'],
        results: [
          {
            ms_open_id: 'audit-1',
            outcome: 'failed',
            error: { code: '9042', message: 'no permission' },
          },
        ],
        tencent_error_codes: [9042],
        upstream_attempts: 1,
        latency_ms: expect.any(Number),
      });
      expect(mute).toEqual({
        id: expect.any(String),
        created_at: expect.any(String),
        answered_at: expect.any(String),
        client_name: 'meeting-control',
        meeting_id: meetingId,
        action: 'mute',
        allow_rejoin: null,
        phone_numbers: [masked(number), masked(absent)],
        ms_open_ids: ['audit-1'],
        results: [
          { phone_number: masked(number), ms_open_id: 'audit-1', outcome: 'done' },
          { phone_number: masked(absent), outcome: 'not_connected' },
        ],
        tencent_error_codes: [],
        upstream_attempts: 1,
        latency_ms: expect.any(Number),
      });
      expect(Number(kick.id)).toBeGreaterThan(Number(mute.id));

      const get = (query: string) =>
        http().get(`/admin/control-actions?meeting_id=${meetingId}&${query}`).set(admin);
      expect(
        (await get('action=kick')).body.items.map((i: { action: string }) => i.action),
      ).toEqual(['kick']);
      expect(
        (await get('outcome=not_connected')).body.items.map((i: { id: string }) => i.id),
      ).toEqual([mute.id]);
      expect((await get('outcome=failed')).body.items.map((i: { id: string }) => i.id)).toEqual([
        kick.id,
      ]);
      const second = await get('page_size=1&page=2');
      expect(second.body).toMatchObject({ page: 2, page_size: 1, total: 2 });
      expect(second.body.items.map((i: { id: string }) => i.id)).toEqual([mute.id]);
      const bad = await get('outcome=maybe');
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toBe(
        'outcome must be one of the following values: done, not_connected, failed',
      );

      // No number is kept in clear, in any column.
      const stored = await rows<{ row: string }>(
        `SELECT row_to_json(c)::text AS row FROM control_actions c WHERE meeting_id = $1`,
        [meetingId],
      );
      expect(stored).toHaveLength(2);
      for (const { row } of stored) {
        expect(row).not.toContain(number);
        expect(row).not.toContain(absent);
      }
    });

    it('keeps no number in clear, even where a client or Tencent wrote one', async () => {
      const { meetingId, number } = await meetingWithCaller('clear-1');
      const maskedDigits = `${number.slice(0, 3)}****${number.slice(-4)}`;
      // A number sent as an id, in a request whose key holds the number too.
      const key = { 'idempotency-key': `retry-${number}` };
      const body = { action: 'unmute', ms_open_ids: [number], wait_ms: 0 };
      const first = await act(meetingId, body, key);
      expect(first.body.results).toEqual([{ ms_open_id: number, outcome: 'not_connected' }]);
      const replayed = await act(meetingId, body, key);
      expect(replayed.body).toEqual(first.body);
      // Tencent's message quoting a number.
      fake.failWith(
        { status: 400, errorCode: 190004, message: `user ${number} not in meeting` },
        1,
        'names',
      );
      const renamed = await act(meetingId, {
        action: 'rename',
        phone_numbers: [phone(number)],
        nick_name: 'x',
      });
      expect(renamed.body.results[0].error).toEqual({
        code: '190004',
        message: `user ${number} not in meeting`,
      });

      const stored = await rows<{ row: string }>(
        `SELECT row_to_json(c)::text AS row FROM control_actions c WHERE meeting_id = $1`,
        [meetingId],
      );
      expect(stored).toHaveLength(2);
      for (const { row } of stored) expect(row).not.toContain(number);
      const list = await http()
        .get(`/admin/control-actions?meeting_id=${meetingId}`)
        .set({ authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(list.body.items.map((item: { results: unknown }) => item.results)).toEqual([
        [
          {
            phone_number: `+86 ${maskedDigits}`,
            ms_open_id: 'clear-1',
            outcome: 'failed',
            error: { code: '190004', message: `user ${maskedDigits} not in meeting` },
          },
        ],
        [{ ms_open_id: maskedDigits, outcome: 'not_connected' }],
      ]);
    });

    it('is refused to a control token', async () => {
      const res = await http()
        .get('/admin/control-actions')
        .set({ authorization: `Bearer ${controlToken}` });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe('this route needs the "admin" scope');
    });

    it('counts results by action and outcome, and makes its calls with the action purpose', async () => {
      const done = 'action="unmute",outcome="done"';
      const absentLabels = 'action="unmute",outcome="not_connected"';
      const upstream = 'endpoint="mutes",purpose="action",outcome="ok"';
      const before = await Promise.all([
        metric('pstn_control_actions_total', done),
        metric('pstn_control_actions_total', absentLabels),
        metric('pstn_upstream_calls_total', upstream),
      ]);
      const { meetingId, number } = await meetingWithCaller('metric-1');
      await act(meetingId, {
        action: 'unmute',
        phone_numbers: [phone(number), phone(newNumber())],
        wait_ms: 0,
      });
      const after = await Promise.all([
        metric('pstn_control_actions_total', done),
        metric('pstn_control_actions_total', absentLabels),
        metric('pstn_upstream_calls_total', upstream),
      ]);
      expect(after.map((value, i) => value - before[i])).toEqual([1, 1, 1]);
    });
  });

  it('wrote no phone number to the logs, in any spelling', () => {
    const text = logLines.join('');
    expect(logLines.length).toBeGreaterThan(50);
    // The warnings of the failed actions above were written, without numbers.
    expect(text).toContain('failed (9042)');
    expect(usedNumbers.size).toBeGreaterThan(20);
    for (const number of usedNumbers) {
      for (const spelling of [number, `86${number}`, `+86${number}`, `0086${number}`]) {
        expect(text, `log leaked ${spelling.slice(0, 5)}...`).not.toContain(spelling);
      }
    }
  });
});
