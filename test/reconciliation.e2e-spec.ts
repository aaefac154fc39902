import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChangeFeed } from '../src/change-feed/change-feed';
import type { TrackingChange } from '../src/change-feed/tracking-change';
import { PstnEventStream } from '../src/lookup/pstn-event.stream';
import { ServiceHeartbeat } from '../src/reconciliation/service-heartbeat';
import { RosterJob } from '../src/scheduling/roster.job';
import type { Fault, FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { deliver } from './support/deliver';
import { ADMIN_TOKEN, type TestApp } from './support/test-app';
import { startTestStack, type TestStack } from './support/test-stack';
import { buildEvent } from './support/webhook-fixtures';

const GRACE_SECONDS = 2;
const PER_TICK = 3;
const TICK_SECONDS = 10;
const MINUTE = 60_000;

/**
 * Webhooks the service never got, repaired from the fake Tencent's live roster. The scheduler
 * is off: each test reads rosters through the admin route or runs the roster job with the clock
 * it chooses. Join times are whole seconds, as Tencent's roster gives them.
 */
describe("roster reconciliation from Tencent's live roster", () => {
  let stack: TestStack;
  let fake: FakeTencentServer;
  let t: TestApp;
  /** Every change the service published. */
  const published: TrackingChange[] = [];

  beforeAll(async () => {
    stack = await startTestStack({
      SCHEDULER_ENABLED: 'false',
      TENCENT_TIMEOUT_MS: '2000',
      ROSTER_GRACE_SECONDS: String(GRACE_SECONDS),
      ROSTER_MEETINGS_PER_TICK: String(PER_TICK),
      ROSTER_TICK_SECONDS: String(TICK_SECONDS),
    });
    ({ fake, t } = stack);
    t.app.get(ChangeFeed).listen((changes) => {
      published.push(...changes);
    });
  });

  afterEach(async () => {
    fake.reset();
    published.length = 0;
    // Each test starts with no open meeting, so the roster job reads only the test's own.
    await t.db.query(`UPDATE meetings SET status = 'ended' WHERE status IN ('unknown', 'started')`);
  });

  afterAll(async () => {
    // Every request our client made was signed correctly.
    expect(fake.badSignatureCount).toBe(0);
    await stack.close();
  });

  const newMeeting = () => String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));
  const secondsAgo = (seconds: number) =>
    new Date((Math.floor(Date.now() / 1000) - seconds) * 1000);
  const http = () => request(t.app.getHttpServer());
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const reconcile = (meetingId: string) =>
    http().post(`/admin/meetings/${meetingId}/reconcile`).set(admin);
  const lookup = async (meetingId: string, phoneNumber: number) =>
    (
      await http()
        .post(`/v1/meetings/${meetingId}/phone/ms-open-id`)
        .set(admin)
        .send({ phone_numbers: [{ area: 86, phone_number: phoneNumber }] })
    ).body as { ms_open_id_list: unknown[] };
  const processed = async (meetingId: string) =>
    (
      await t.db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM webhook_events WHERE meeting_id = $1 AND status = 'processed'`,
        [meetingId],
      )
    )[0].n;
  /** Delivers an event and waits until it, and every event of the meeting before it, applied. */
  const deliverApplied = async (meetingId: string, event: string) => {
    const before = await processed(meetingId);
    await deliver(t, event);
    await expect.poll(() => processed(meetingId)).toBe(before + 1);
  };
  const start = (meetingId: string) =>
    deliverApplied(meetingId, buildEvent('meeting.started', { meetingId }));
  const join = (meetingId: string, msOpenId: string, phoneNumber: string, operateTime?: number) =>
    deliverApplied(
      meetingId,
      buildEvent('meeting.participant-joined', {
        meetingId,
        msOpenId,
        pstnNumber: `+86${phoneNumber}`,
        operateTime,
      }),
    );
  const leave = (meetingId: string, msOpenId: string, operateTime: number) =>
    deliverApplied(
      meetingId,
      buildEvent('meeting.participant-left', { meetingId, msOpenId, operateTime }),
    );
  const callers = (meetingId: string) =>
    t.db.query<{ ms_open_id: string; status: string; joined_at: Date; left_at: Date | null }[]>(
      `SELECT ms_open_id, status, joined_at, left_at FROM pstn_participants WHERE meeting_id = $1
        ORDER BY ms_open_id`,
      [meetingId],
    );
  const repairsLogged = (meetingId: string) =>
    t.db.query(
      `SELECT kind, ms_open_id, operate_time, webhook_event_id, item_index FROM pstn_events
        WHERE meeting_id = $1 AND source = 'reconciliation' ORDER BY id`,
      [meetingId],
    );
  const rosterReads = (meetingId: string) =>
    fake.requests
      .filter((r) => r.meetingId === meetingId && r.path.endsWith('/real-time-participants'))
      .map((r) => r.status);
  /** One sample of /metrics; 0 when absent (a counter never incremented has none yet). */
  const metric = async (name: string, labels = '') => {
    const text = (await http().get('/metrics')).text;
    const prefix = labels ? `${name}{${labels}} ` : `${name} `;
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    return line ? Number(line.slice(prefix.length)) : 0;
  };
  const repairsCounted = (kind: string) =>
    metric('pstn_reconciliation_repairs_total', `kind="${kind}"`);
  const answered = (
    repaired: Partial<Record<'joined' | 'left' | 'ended', number>>,
    extra: Record<string, unknown> = {},
  ) => ({
    tencent_status: 'MEETING_STATE_STARTED',
    repaired: { joined: 0, left: 0, ended: 0, ...repaired },
    waiting: { joined: 0, left: 0 },
    next_read_at: null,
    ...extra,
  });

  describe('a missed join', () => {
    it('connects the caller Tencent lists from its join time, resolves it, and lookups answer it', async () => {
      const meetingId = newMeeting();
      await start(meetingId);
      // The meeting-control service asked before the call connected: "none yet" is cached.
      expect((await lookup(meetingId, 13800000001)).ms_open_id_list).toEqual([]);
      const joinedAt = secondsAgo(30);
      fake.connect(meetingId, 86, '13800000001', 'missed-join', { joinTime: joinedAt });
      const counted = await repairsCounted('joined');

      const res = await reconcile(meetingId);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ meeting_id: meetingId, ...answered({ joined: 1 }) });
      expect(await callers(meetingId)).toEqual([
        { ms_open_id: 'missed-join', status: 'connected', joined_at: joinedAt, left_at: null },
      ]);
      expect(await repairsLogged(meetingId)).toEqual([
        {
          kind: 'joined',
          ms_open_id: 'missed-join',
          operate_time: joinedAt,
          webhook_event_id: null,
          item_index: null,
        },
      ]);
      expect(await repairsCounted('joined')).toBe(counted + 1);

      // The cached "none" was dropped with the repair: the lookup answers the id at once.
      expect((await lookup(meetingId, 13800000001)).ms_open_id_list).toEqual([
        { area: 86, phone_number: 13800000001, ms_open_id: 'missed-join', status: 'connected' },
      ]);
      await expect.poll(() => published.length).toBe(3);
      expect(published).toEqual([
        { type: 'participant.joined', meetingId, msOpenId: 'missed-join' },
        { type: 'phone.connected', meetingId },
        {
          type: 'participant.resolved',
          meetingId,
          msOpenId: 'missed-join',
          area: '86',
          phoneNumber: '13800000001',
        },
      ]);
      const streamed = async () =>
        (await t.app.get(PstnEventStream).history(meetingId, '0')).map(({ type, data }) => ({
          type,
          data,
        }));
      await expect.poll(streamed).toEqual([
        { type: 'participant.joined', data: { meeting_id: meetingId, ms_open_id: 'missed-join' } },
        {
          type: 'participant.resolved',
          data: {
            meeting_id: meetingId,
            ms_open_id: 'missed-join',
            area: '86',
            phone_number: '13800000001',
          },
        },
      ]);

      // Read again: nothing left to repair, nothing logged twice.
      expect((await reconcile(meetingId)).body).toEqual({ meeting_id: meetingId, ...answered({}) });
      expect(await repairsLogged(meetingId)).toHaveLength(1);
      expect(await repairsCounted('joined')).toBe(counted + 1);
      expect(rosterReads(meetingId)).toEqual([200, 200]);
    });

    it('waits out the grace for a caller who joined just now, so its webhook comes first', async () => {
      const meetingId = newMeeting();
      await start(meetingId);
      const joinedAt = secondsAgo(0);
      fake.connect(meetingId, 86, '13800000002', 'just-joined', { joinTime: joinedAt });

      const early = await reconcile(meetingId);
      expect(early.body).toEqual({
        meeting_id: meetingId,
        ...answered(
          {},
          {
            waiting: { joined: 1, left: 0 },
            next_read_at: new Date(joinedAt.getTime() + GRACE_SECONDS * 1000).toISOString(),
          },
        ),
      });
      expect(await callers(meetingId)).toEqual([]);
      // The webhook arrives within the grace, with the caller's number and exact time.
      await join(meetingId, 'just-joined', '13800000002', joinedAt.getTime() + 400);
      await sleep(GRACE_SECONDS * 1000);
      expect((await reconcile(meetingId)).body).toEqual({ meeting_id: meetingId, ...answered({}) });
      expect(await callers(meetingId)).toEqual([
        {
          ms_open_id: 'just-joined',
          status: 'connected',
          joined_at: new Date(joinedAt.getTime() + 400),
          left_at: null,
        },
      ]);
      expect(await repairsLogged(meetingId)).toEqual([]);
    });
  });

  describe('a missed leave', () => {
    it('marks the caller Tencent no longer lists left after the grace, not before, from when it was first missed', async () => {
      const meetingId = newMeeting();
      await start(meetingId);
      fake.connect(meetingId, 86, '13800000003', 'missed-leave');
      await join(meetingId, 'missed-leave', '13800000003');
      fake.disconnect(meetingId, 'missed-leave');
      const counted = await repairsCounted('left');

      const first = await reconcile(meetingId);
      const [{ missing_since: missingSince }] = await t.db.query<{ missing_since: Date }[]>(
        `SELECT missing_since FROM pstn_participants WHERE meeting_id = $1`,
        [meetingId],
      );
      const waiting = answered(
        {},
        {
          waiting: { joined: 0, left: 1 },
          next_read_at: new Date(missingSince.getTime() + GRACE_SECONDS * 1000).toISOString(),
        },
      );
      expect(first.body).toEqual({ meeting_id: meetingId, ...waiting });
      // Read again within the grace: still connected.
      expect((await reconcile(meetingId)).body).toEqual({ meeting_id: meetingId, ...waiting });
      expect((await callers(meetingId)).map((c) => c.status)).toEqual(['connected']);
      const leaves = () => published.filter((c) => c.type === 'participant.left');
      expect(leaves()).toEqual([]);

      await sleep(Math.max(0, missingSince.getTime() + GRACE_SECONDS * 1000 - Date.now()));
      expect((await reconcile(meetingId)).body).toEqual({
        meeting_id: meetingId,
        ...answered({ left: 1 }),
      });
      const [caller] = await callers(meetingId);
      expect([caller.status, caller.left_at]).toEqual(['left', missingSince]);
      expect(await repairsLogged(meetingId)).toEqual([
        {
          kind: 'left',
          ms_open_id: 'missed-leave',
          operate_time: missingSince,
          webhook_event_id: null,
          item_index: null,
        },
      ]);
      expect(leaves()).toEqual([{ type: 'participant.left', meetingId, msOpenId: 'missed-leave' }]);
      expect(await repairsCounted('left')).toBe(counted + 1);
    });

    it('lets a leave webhook in flight win within the grace', async () => {
      const meetingId = newMeeting();
      await start(meetingId);
      fake.connect(meetingId, 86, '13800000004', 'slow-leave');
      await join(meetingId, 'slow-leave', '13800000004');
      fake.disconnect(meetingId, 'slow-leave');
      const leftAt = Date.now();
      expect((await reconcile(meetingId)).body.waiting).toEqual({ joined: 0, left: 1 });
      await leave(meetingId, 'slow-leave', leftAt);

      await sleep(GRACE_SECONDS * 1000);
      expect((await reconcile(meetingId)).body).toEqual({ meeting_id: meetingId, ...answered({}) });
      const [caller] = await callers(meetingId);
      expect([caller.status, caller.left_at]).toEqual(['left', new Date(leftAt)]);
      expect(await repairsLogged(meetingId)).toEqual([]);
    });
  });

  describe('a missed meeting end', () => {
    it('ends the meeting Tencent reports ended as meeting.end would', async () => {
      const meetingId = newMeeting();
      await start(meetingId);
      for (const [msOpenId, number] of [
        ['end-a', '13800000005'],
        ['end-b', '13800000006'],
      ]) {
        fake.connect(meetingId, 86, number, msOpenId);
        await join(meetingId, msOpenId, number);
      }
      fake.endMeeting(meetingId);
      const counted = await repairsCounted('ended');

      expect((await reconcile(meetingId)).body).toEqual({
        meeting_id: meetingId,
        ...answered({ ended: 1 }, { tencent_status: 'MEETING_STATE_ENDED' }),
      });
      const [meeting] = await t.db.query<{ status: string; ended_at: Date }[]>(
        `SELECT status, ended_at FROM meetings WHERE meeting_id = $1`,
        [meetingId],
      );
      expect(meeting.status).toBe('ended');
      expect((await callers(meetingId)).map((c) => [c.ms_open_id, c.status, c.left_at])).toEqual([
        ['end-a', 'left', meeting.ended_at],
        ['end-b', 'left', meeting.ended_at],
      ]);
      expect(await repairsLogged(meetingId)).toEqual([
        {
          kind: 'ended',
          ms_open_id: null,
          operate_time: meeting.ended_at,
          webhook_event_id: null,
          item_index: null,
        },
      ]);
      // In any order: the meeting's callers are closed by one statement.
      const closing = published
        .filter((c) => c.type === 'participant.left' || c.type === 'meeting.ended')
        .map((c) => JSON.stringify(c))
        .sort();
      expect(closing).toEqual(
        [
          { type: 'meeting.ended', meetingId },
          { type: 'participant.left', meetingId, msOpenId: 'end-a' },
          { type: 'participant.left', meetingId, msOpenId: 'end-b' },
        ]
          .map((c) => JSON.stringify(c))
          .sort(),
      );
      expect(await repairsCounted('ended')).toBe(counted + 1);

      // An ended meeting has nothing to repair: Tencent is not asked again.
      const again = await reconcile(meetingId);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('meeting_not_open');
      expect(rosterReads(meetingId)).toEqual([200]);
    });

    it('answers 404 for a meeting never seen', async () => {
      const res = await reconcile(newMeeting());
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('meeting_not_found');
    });
  });

  describe('webhooks and repairs together', () => {
    it('lets a newer webhook that arrives during the read win', async () => {
      const meetingId = newMeeting();
      await start(meetingId);
      // Tencent's roster still lists the caller when its (newer) leave webhook arrives.
      fake.connect(meetingId, 86, '13800000007', 'racing', { joinTime: secondsAgo(30) });
      fake.setLatency(1500);
      const reading = reconcile(meetingId).then((res) => res);
      await expect.poll(() => fake.maxConcurrentFor(meetingId)).toBe(1);
      const leftAt = Date.now();
      await leave(meetingId, 'racing', leftAt);

      expect((await reading).body).toEqual({ meeting_id: meetingId, ...answered({}) });
      expect(await callers(meetingId)).toEqual([
        { ms_open_id: 'racing', status: 'left', joined_at: null, left_at: new Date(leftAt) },
      ]);
      expect(await repairsLogged(meetingId)).toEqual([]);
    });

    it('lets no older webhook undo a repair, and a newer one change it', async () => {
      const meetingId = newMeeting();
      await start(meetingId);
      const joinedAt = secondsAgo(30);
      fake.connect(meetingId, 86, '13800000008', 'repaired', { joinTime: joinedAt });
      expect((await reconcile(meetingId)).body.repaired.joined).toBe(1);

      // Delivered late: a leave from before the join Tencent reported.
      await leave(meetingId, 'repaired', joinedAt.getTime() - 5000);
      expect(await callers(meetingId)).toEqual([
        { ms_open_id: 'repaired', status: 'connected', joined_at: joinedAt, left_at: null },
      ]);
      const leftAt = Date.now();
      await leave(meetingId, 'repaired', leftAt);
      expect(await callers(meetingId)).toEqual([
        { ms_open_id: 'repaired', status: 'left', joined_at: joinedAt, left_at: new Date(leftAt) },
      ]);
    });
  });

  it('reads pages beyond the first: 60 callers', async () => {
    const meetingId = newMeeting();
    await start(meetingId);
    const since = secondsAgo(120);
    for (let i = 1; i <= 60; i += 1) {
      fake.connect(meetingId, 86, `1370000${String(i).padStart(4, '0')}`, `page-${i}`, {
        joinTime: new Date(since.getTime() + i * 1000),
      });
    }
    expect((await reconcile(meetingId)).body).toEqual({
      meeting_id: meetingId,
      ...answered({ joined: 60 }),
    });
    const connected = await callers(meetingId);
    expect(connected.map((c) => c.ms_open_id).sort()).toEqual(
      Array.from({ length: 60 }, (_, i) => `page-${i + 1}`).sort(),
    );
    expect(connected.every((c) => c.status === 'connected')).toBe(true);
    expect(rosterReads(meetingId)).toEqual([200, 200]);
  });

  describe('when the roster job reads', () => {
    const job = () => t.app.get(RosterJob);
    const ranFor = (meetings: number, counts: Record<string, number> = {}) => ({
      ran: true,
      meetings,
      failed: 0,
      joined: 0,
      left: 0,
      ended: 0,
      ...counts,
    });
    const setMeeting = (meetingId: string, columns: string, values: unknown[] = []) =>
      t.db.query(`UPDATE meetings SET ${columns} WHERE meeting_id = $1`, [meetingId, ...values]);
    /** As if no replica had been alive for ten minutes until now. */
    const downtimeJustEnded = async () => {
      await t.db.query(`UPDATE service_heartbeat SET alive_at = now() - interval '10 minutes'`);
      const downtime = await t.app.get(ServiceHeartbeat).start();
      expect(downtime).not.toBeNull();
      return downtime;
    };

    it('records a downtime once, when no replica was alive for DOWNTIME_AFTER_SECONDS', async () => {
      await t.db.query(`UPDATE service_heartbeat SET alive_at = now() - interval '10 minutes'`);
      const [{ alive_at: aliveAt }] = await t.db.query<{ alive_at: Date }[]>(
        `SELECT alive_at FROM service_heartbeat`,
      );
      const heartbeat = t.app.get(ServiceHeartbeat);
      const downtime = await heartbeat.start();
      const [row] = await t.db.query<{ alive_at: Date; down_from: Date; down_until: Date }[]>(
        `SELECT alive_at, down_from, down_until FROM service_heartbeat`,
      );
      expect(downtime).toEqual({ from: aliveAt, until: row.alive_at });
      expect([row.down_from, row.down_until]).toEqual([aliveAt, row.alive_at]);
      // Alive a moment ago: no downtime, and the one recorded stays.
      expect(await heartbeat.start()).toBeNull();
      const [after] = await t.db.query<{ down_from: Date; down_until: Date }[]>(
        `SELECT down_from, down_until FROM service_heartbeat`,
      );
      expect(after).toEqual({ down_from: aliveAt, down_until: row.alive_at });
    });

    it('after a downtime, every open meeting seen before it, a few a tick; then the quiet and the periodic ones', async () => {
      const now = new Date();
      // Seen before the downtime: four open meetings, one with no phone caller at all.
      const before = [newMeeting(), newMeeting(), newMeeting(), newMeeting()];
      for (const meetingId of before) await start(meetingId);
      fake.connect(before[3], 86, '13600000001', 'during-downtime', { joinTime: secondsAgo(60) });
      await downtimeJustEnded();
      // Seen after it: read only when a rule below says so.
      const after = newMeeting();
      await start(after);
      fake.connect(after, 86, '13600000002', 'after-1');
      await join(after, 'after-1', '13600000002');

      expect(await job().runOnce(now)).toEqual(ranFor(PER_TICK));
      expect(await job().runOnce(now)).toEqual(ranFor(1, { joined: 1 }));
      expect(await job().runOnce(now)).toEqual(ranFor(0));
      expect(before.map((m) => rosterReads(m))).toEqual([[200], [200], [200], [200]]);
      expect((await callers(before[3])).map((c) => c.ms_open_id)).toEqual(['during-downtime']);
      expect(rosterReads(after)).toEqual([]);

      // No webhook for the gap (ROSTER_GAP_SECONDS, 120): read once, not again while it is quiet.
      await setMeeting(after, `last_event_at = now() - interval '10 minutes'`);
      expect(await job().runOnce(now)).toEqual(ranFor(1));
      expect(await job().runOnce(now)).toEqual(ranFor(0));
      expect(rosterReads(after)).toEqual([200]);

      // Every ROSTER_INTERVAL_SECONDS (300) for meetings with a connected phone caller.
      expect(await job().runOnce(new Date(Date.now() + 5 * MINUTE + 1000))).toEqual(ranFor(2));
      expect(rosterReads(after)).toEqual([200, 200]);
      expect(rosterReads(before[3])).toEqual([200, 200]);
    });

    it.each<[string, Fault]>([
      ['rate-limits', { status: 400, errorCode: 190310, message: 'rate limit exceeded' }],
      ['fails', { status: 502, message: 'bad gateway' }],
    ])(
      'tries again later when Tencent %s the roster call, while lookups still resolve',
      async (_, fault) => {
        const [first, second] = [newMeeting(), newMeeting()];
        for (const [i, meetingId] of [first, second].entries()) {
          await start(meetingId);
          fake.connect(meetingId, 86, `1350000000${i}`, `lost-${i}`, { joinTime: secondsAgo(60) });
        }
        await downtimeJustEnded();
        await setMeeting(first, `created_at = created_at - interval '1 second'`);
        fake.failWith(fault, Number.POSITIVE_INFINITY, 'real-time-participants');
        const now = new Date();

        // The tick ends at the failure: the second meeting waits for the next one.
        expect(await job().runOnce(now)).toEqual(ranFor(1, { failed: 1 }));
        expect([rosterReads(first), rosterReads(second)]).toEqual([[fault.status], []]);

        // Meanwhile a caller who joins a live meeting is resolved and looked up as usual.
        const live = newMeeting();
        await start(live);
        fake.connect(live, 86, '13500000009', 'live-1');
        await join(live, 'live-1', '13500000009');
        await expect
          .poll(async () => (await lookup(live, 13500000009)).ms_open_id_list)
          .toEqual([
            { area: 86, phone_number: 13500000009, ms_open_id: 'live-1', status: 'connected' },
          ]);

        fake.reset();
        // The failed meeting backs off a tick; the other is read now.
        expect(await job().runOnce(now)).toEqual(ranFor(1, { joined: 1 }));
        expect(await job().runOnce(new Date(now.getTime() + (TICK_SECONDS - 1) * 1000))).toEqual(
          ranFor(0),
        );
        expect(await job().runOnce(new Date(now.getTime() + (TICK_SECONDS + 1) * 1000))).toEqual(
          ranFor(1, { joined: 1 }),
        );
        expect([rosterReads(first), rosterReads(second)]).toEqual([[fault.status, 200], [200]]);
        const [{ roster_failures: failures }] = await t.db.query<{ roster_failures: number }[]>(
          `SELECT roster_failures FROM meetings WHERE meeting_id = $1`,
          [first],
        );
        expect(failures).toBe(0);
      },
    );

    it('goes on to the next meeting when Tencent refuses one alone (not found)', async () => {
      const [first, second] = [newMeeting(), newMeeting()];
      for (const meetingId of [first, second]) await start(meetingId);
      await downtimeJustEnded();
      await setMeeting(first, `created_at = created_at - interval '1 second'`);
      fake.failWith({ status: 400, errorCode: 190457, message: 'meeting not found' }, 1);
      expect(await job().runOnce()).toEqual(ranFor(2, { failed: 1 }));
      expect([rosterReads(first), rosterReads(second)]).toEqual([[400], [200]]);
    });
  });

  it("spends the 'reconcile' budget, shown per purpose in /admin/stats and /metrics", async () => {
    const meetingId = newMeeting();
    await start(meetingId);
    // Both reads fall in one minute of the budget.
    if (new Date().getSeconds() > 55) await sleep(6000);
    const used = async () =>
      (await http().get('/admin/stats').set(admin)).body.upstream_budget_this_minute as {
        used_by_purpose: Record<string, number>;
        remaining: number;
        per_minute: number;
      };
    const before = await used();
    expect((await reconcile(meetingId)).status).toBe(200);
    const after = await used();
    expect(after.used_by_purpose).toEqual({
      ...before.used_by_purpose,
      reconcile: before.used_by_purpose.reconcile + 1,
    });
    expect(after.remaining).toBe(before.remaining - 1);
    expect(await metric('pstn_upstream_budget_used', 'purpose="reconcile"')).toBe(
      after.used_by_purpose.reconcile,
    );
    expect(await metric('pstn_upstream_budget_remaining')).toBe(after.remaining);
  });
});
