import { setTimeout as sleep } from 'node:timers/promises';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReconcileJob } from '../src/scheduling/reconcile.job';
import { RetentionJob } from '../src/scheduling/retention.job';
import { RosterJob } from '../src/scheduling/roster.job';
import { StaleMeetingsJob } from '../src/scheduling/stale-meetings.job';
import { ChangeFeed } from '../src/change-feed/change-feed';
import type { TrackingChange } from '../src/change-feed/tracking-change';
import { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { startTestApp, TENCENT_CREDENTIALS, testEnv, type TestApp } from './support/test-app';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { buildEvent } from './support/webhook-fixtures';
import { testKeyPrefix } from './support/test-redis';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ago = (ms: number, from: Date) => new Date(from.getTime() - ms);
const later = (ms: number, from: Date) => new Date(from.getTime() + ms);

/**
 * Two instances of the service on one database, as two replicas. Their schedulers are off: each
 * test calls a job's runOnce with the clock it chooses, and sets the rows' timestamps itself.
 * Instance A reads callout lists (RECONCILE_CALLOUTS=true), B keeps the default (off).
 */
describe('scheduled work', () => {
  let databaseUrl: string;
  let fake: FakeTencentServer;
  let a: TestApp;
  let b: TestApp;
  let fakeUrl: string;
  /** Every change either instance published. */
  const published: TrackingChange[] = [];

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    fake = new FakeTencentServer(TENCENT_CREDENTIALS);
    fakeUrl = await fake.start();
    const shared = {
      TENCENT_API_BASE_URL: fakeUrl,
      TENCENT_TIMEOUT_MS: '1000',
      REDIS_KEY_PREFIX: testKeyPrefix(),
      SCHEDULER_ENABLED: 'false',
    };
    a = await startTestApp(testEnv(databaseUrl, { ...shared, RECONCILE_CALLOUTS: 'true' }));
    b = await startTestApp(testEnv(databaseUrl, shared));
    for (const t of [a, b]) {
      t.app.get(ChangeFeed).listen((changes) => {
        published.push(...changes);
      });
    }
  });

  afterEach(async () => {
    fake.reset();
    published.length = 0;
    // Each test starts with no open meeting, so a job's counts are only the test's own rows.
    await a.db.query(`UPDATE meetings SET status = 'ended' WHERE status IN ('unknown', 'started')`);
  });

  afterAll(async () => {
    // Every request our clients made was signed correctly.
    expect(fake.badSignatureCount).toBe(0);
    await a.close();
    await b.close();
    await fake.close();
    await dropTestDatabase(databaseUrl);
  });

  const newMeeting = () => String(10n ** 19n + BigInt(Math.floor(Math.random() * 1e12)));
  const seedMeeting = (meetingId: string, lastEventAt: Date, status = 'started') =>
    a.db.query(
      `INSERT INTO meetings (meeting_id, status, started_at, last_event_at) VALUES ($1, $2, $3, $3)`,
      [meetingId, status, lastEventAt],
    );
  const seedCaller = (meetingId: string, msOpenId: string, at: Date, status = 'connected') =>
    a.db.query(
      `INSERT INTO pstn_participants
         (meeting_id, ms_open_id, status, joined_at, left_at, last_operate_time)
       VALUES ($1, $2, $3, $4, CASE WHEN $3 = 'left' THEN $4::timestamptz END, $4)`,
      [meetingId, msOpenId, status, at],
    );
  const track = (meetingId: string, area: string, phoneNumber: string) =>
    a.db.query(
      `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source) VALUES ($1, $2, $3, 'api')`,
      [meetingId, area, phoneNumber],
    );
  const mappings = (meetingId: string) =>
    a.db.query<{ ms_open_id: string; area: string; phone_number: string }[]>(
      `SELECT ms_open_id, area, phone_number FROM ms_open_id_mappings WHERE meeting_id = $1
        ORDER BY ms_open_id`,
      [meetingId],
    );
  const upstream = (meetingId: string, endpoint: 'ms-open-id' | 'callout') =>
    fake.requests.filter((r) => r.meetingId === meetingId && r.path.endsWith(endpoint));
  /** A stored event, pending as intake leaves one, inserted straight into the table. */
  const insertEvent = async (db: DataSource, plaintext: string, receivedAt: Date) => {
    const [{ id }] = await db.query<{ id: string }[]>(
      `INSERT INTO webhook_events (dedupe_key, event, meeting_id, payload, received_at)
       SELECT gen_random_uuid()::text, p->>'event', p->'payload'->0->'meeting_info'->>'meeting_id',
              p, $2
         FROM (SELECT $1::jsonb AS p) AS e
       RETURNING id::text`,
      [plaintext, receivedAt],
    );
    return id;
  };
  const events = (ids: string[]) =>
    a.db.query<{ status: string; attempts: number }[]>(
      `SELECT status, attempts FROM webhook_events WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );

  /**
   * Runs `work` while `table` is locked against any access for a moment: the job that got its
   * lock first is then still running (it needs the table) when the other instance asks for the
   * lock, as on two replicas whose ticks coincide.
   */
  const whileTableLocked = async <T>(table: string, work: () => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      const result = work();
      result.catch(() => undefined);
      await sleep(300);
      await client.query('COMMIT');
      return await result;
    } finally {
      await client.end();
    }
  };

  describe('reconciliation', () => {
    it('resolves again meetings whose connected callers stay unmapped, once they are due', async () => {
      const now = new Date();
      const due = newMeeting();
      await seedMeeting(due, now);
      await seedCaller(due, 'due-caller', ago(10 * MINUTE, now));
      await track(due, '86', '13900000001');
      fake.connect(due, 86, '13900000001', 'due-caller');
      // Connected 30 s ago: the resolver's own follow-ups are still at work.
      const fresh = newMeeting();
      await seedMeeting(fresh, now);
      await seedCaller(fresh, 'fresh-caller', ago(30_000, now));
      await track(fresh, '86', '13900000002');
      fake.connect(fresh, 86, '13900000002', 'fresh-caller');
      // Asked 30 s ago.
      const asked = newMeeting();
      await seedMeeting(asked, now);
      await seedCaller(asked, 'asked-caller', ago(10 * MINUTE, now));
      await track(asked, '86', '13900000003');
      fake.connect(asked, 86, '13900000003', 'asked-caller');
      await a.db.query(
        `INSERT INTO resolution_attempts (meeting_id, numbers_asked, outcome, latency_ms, created_at)
         VALUES ($1, 1, 'ok', 10, $2)`,
        [asked, ago(30_000, now)],
      );
      // No tracked number: nothing to ask (B reads no callout list).
      const untracked = newMeeting();
      await seedMeeting(untracked, now);
      await seedCaller(untracked, 'untracked-caller', ago(10 * MINUTE, now));
      const ended = newMeeting();
      await seedMeeting(ended, now, 'ended');
      await seedCaller(ended, 'ended-caller', ago(10 * MINUTE, now));
      await track(ended, '86', '13900000004');
      fake.connect(ended, 86, '13900000004', 'ended-caller');

      const reconcile = b.app.get(ReconcileJob);
      expect(await reconcile.runOnce(now)).toEqual({ ran: true, meetings: 1, calloutMappings: 0 });
      expect(await mappings(due)).toEqual([
        { ms_open_id: 'due-caller', area: '86', phone_number: '13900000001' },
      ]);
      for (const meetingId of [fresh, asked, untracked, ended]) {
        expect(fake.callsFor(meetingId)).toBe(0);
      }

      // Three minutes on, the fresh caller and the asked meeting are due too.
      expect(await reconcile.runOnce(later(3 * MINUTE, now))).toEqual({
        ran: true,
        meetings: 2,
        calloutMappings: 0,
      });
      expect((await mappings(fresh)).map((m) => m.ms_open_id)).toEqual(['fresh-caller']);
      expect((await mappings(asked)).map((m) => m.ms_open_id)).toEqual(['asked-caller']);
      expect(fake.callsFor(due)).toBe(1);
      expect(fake.callsFor(untracked) + fake.callsFor(ended)).toBe(0);
    });

    it('reads the callout list when enabled: tracks every called number, maps answered calls', async () => {
      const now = new Date();
      const meetingId = newMeeting();
      await seedMeeting(meetingId, now);
      await seedCaller(meetingId, 'callee-7', ago(10 * MINUTE, now));
      // 120 calls: two pages of at most 100. Only call 7 was answered and has an id.
      for (let i = 0; i < 120; i += 1) {
        const answered = i === 7;
        fake.registerCallout(
          meetingId,
          86,
          `1370000${String(i).padStart(4, '0')}`,
          answered ? 'callee-7' : '',
          answered ? 'START_ACCEPT' : 'START_INVITE',
        );
      }

      expect(await a.app.get(ReconcileJob).runOnce(now)).toEqual({
        ran: true,
        meetings: 1,
        calloutMappings: 1,
      });
      const tracked = await a.db.query<{ source: string; n: number }[]>(
        `SELECT source, count(*)::int AS n FROM tracked_numbers WHERE meeting_id = $1 GROUP BY source`,
        [meetingId],
      );
      expect(tracked).toEqual([{ source: 'callout', n: 120 }]);
      expect(await mappings(meetingId)).toEqual([
        { ms_open_id: 'callee-7', area: '86', phone_number: '13700000007' },
      ]);
      expect(upstream(meetingId, 'callout').map((r) => [r.method, r.status])).toEqual([
        ['GET', 200],
        ['GET', 200],
      ]);
      // The callout list mapped the only unmapped caller: nothing is left to ask.
      expect(upstream(meetingId, 'ms-open-id')).toEqual([]);
      expect(published).toContainEqual({
        type: 'participant.resolved',
        meetingId,
        msOpenId: 'callee-7',
        area: '86',
        phoneNumber: '13700000007',
      });
    });

    it('reads no callout list when RECONCILE_CALLOUTS is left at its default', async () => {
      expect(b.env.RECONCILE_CALLOUTS).toBe(false);
      const now = new Date();
      const meetingId = newMeeting();
      await seedMeeting(meetingId, now);
      await seedCaller(meetingId, 'dialled-in', ago(10 * MINUTE, now));
      await track(meetingId, '86', '13900000005');
      fake.connect(meetingId, 86, '13900000005', 'dialled-in');
      fake.registerCallout(meetingId, 86, '13900000006', 'called-out', 'START_ACCEPT');

      expect(await b.app.get(ReconcileJob).runOnce(now)).toEqual({
        ran: true,
        meetings: 1,
        calloutMappings: 0,
      });
      expect(upstream(meetingId, 'callout')).toEqual([]);
      expect((await mappings(meetingId)).map((m) => m.ms_open_id)).toEqual(['dialled-in']);
    });
  });

  describe('stale meetings', () => {
    it('closes a meeting with no event for 24 h as a meeting end would', async () => {
      const now = new Date();
      const lastEventAt = ago(25 * HOUR, now);
      const stale = newMeeting();
      await seedMeeting(stale, lastEventAt);
      await seedCaller(stale, 'still-on', ago(26 * HOUR, now));
      const leftAt = ago(25.5 * HOUR, now);
      await seedCaller(stale, 'gone', leftAt, 'left');
      // Never started as far as the service knows, and quiet for longer still.
      const unknown = newMeeting();
      const unknownLastEventAt = ago(26 * HOUR, now);
      await seedMeeting(unknown, unknownLastEventAt, 'unknown');
      const quiet = newMeeting();
      await seedMeeting(quiet, ago(23 * HOUR, now));
      await seedCaller(quiet, 'quiet-on', ago(23 * HOUR, now));

      const job = a.app.get(StaleMeetingsJob);
      expect(await job.runOnce(now)).toEqual({ ran: true, meetingsClosed: 2 });
      const meetings = await a.db.query<{ meeting_id: string; status: string; ended_at: Date }[]>(
        `SELECT meeting_id, status, ended_at FROM meetings WHERE meeting_id = ANY($1)`,
        [[stale, unknown, quiet]],
      );
      expect(
        Object.fromEntries(meetings.map((m) => [m.meeting_id, [m.status, m.ended_at]])),
      ).toEqual({
        [stale]: ['ended', lastEventAt],
        [unknown]: ['ended', unknownLastEventAt],
        [quiet]: ['started', null],
      });
      const callers = await a.db.query<{ ms_open_id: string; status: string; left_at: Date }[]>(
        `SELECT ms_open_id, status, left_at FROM pstn_participants WHERE meeting_id = ANY($1)
          ORDER BY ms_open_id`,
        [[stale, quiet]],
      );
      expect(callers).toEqual([
        { ms_open_id: 'gone', status: 'left', left_at: leftAt },
        { ms_open_id: 'quiet-on', status: 'connected', left_at: null },
        { ms_open_id: 'still-on', status: 'left', left_at: lastEventAt },
      ]);
      // Quietest first.
      expect(published).toEqual([
        { type: 'meeting.ended', meetingId: unknown },
        { type: 'participant.left', meetingId: stale, msOpenId: 'still-on' },
        { type: 'meeting.ended', meetingId: stale },
      ]);

      // An hour and a minute on, the quiet meeting has been quiet for 24 h too.
      published.length = 0;
      expect(await job.runOnce(later(HOUR + MINUTE, now))).toEqual({
        ran: true,
        meetingsClosed: 1,
      });
      expect(published).toEqual([
        { type: 'participant.left', meetingId: quiet, msOpenId: 'quiet-on' },
        { type: 'meeting.ended', meetingId: quiet },
      ]);
    });
  });

  describe('retention', () => {
    it('deletes webhook events, phone events, attempts and tracked numbers older than 30 days, in batches', async () => {
      const now = new Date();
      const old = ago(31 * DAY, now);
      const kept = ago(29 * DAY, now);
      const meetingId = newMeeting();
      const oldEvents: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        oldEvents.push(await insertEvent(a.db, buildEvent('meeting.started', { meetingId }), old));
      }
      const keptEvent = await insertEvent(a.db, buildEvent('meeting.started', { meetingId }), kept);
      const insertPstnEvents = (eventId: string, items: [number, number], createdAt: Date) =>
        a.db.query(
          `INSERT INTO pstn_events (webhook_event_id, item_index, meeting_id, kind, created_at)
           SELECT $1, i, $2, 'joined', $5 FROM generate_series($3::int, $4::int) AS i`,
          [eventId, meetingId, items[0], items[1], createdAt],
        );
      // Old phone events of a kept webhook event go by their own age, in three batches.
      await insertPstnEvents(keptEvent, [1, 2500], old);
      await insertPstnEvents(keptEvent, [0, 0], kept);
      // A recent phone event of an old webhook event goes with it (ON DELETE CASCADE).
      await insertPstnEvents(oldEvents[0], [0, 0], now);
      const insertAttempts = (count: number, createdAt: Date) =>
        a.db.query(
          `INSERT INTO resolution_attempts (meeting_id, numbers_asked, outcome, latency_ms, created_at)
           SELECT $1, 1, 'ok', 10, $3 FROM generate_series(1, $2)`,
          [meetingId, count, createdAt],
        );
      await insertAttempts(1200, old);
      await insertAttempts(1, kept);
      await a.db.query(
        `INSERT INTO control_actions (client_id, client_name, meeting_id, action, created_at)
         VALUES ('c', 'c', $1, 'mute', $2), ('c', 'c', $1, 'kick', $2), ('c', 'c', $1, 'mute', $3)`,
        [meetingId, old, kept],
      );
      await a.db.query(
        `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source, created_at)
         VALUES ($1, '86', '13800000001', 'api', $2), ($1, '86', '13800000002', 'webhook', $2),
                ($1, '86', '13800000003', 'api', $3)`,
        [meetingId, old, kept],
      );
      const left = async () =>
        (
          await a.db.query<{ webhook: number; pstn: number; attempts: number; tracked: number }[]>(
            `SELECT (SELECT count(*)::int FROM webhook_events WHERE meeting_id = $1) AS webhook,
                    (SELECT count(*)::int FROM pstn_events WHERE meeting_id = $1) AS pstn,
                    (SELECT count(*)::int FROM resolution_attempts WHERE meeting_id = $1) AS attempts,
                    (SELECT count(*)::int FROM tracked_numbers WHERE meeting_id = $1) AS tracked`,
            [meetingId],
          )
        )[0];
      expect(await left()).toEqual({ webhook: 4, pstn: 2502, attempts: 1201, tracked: 3 });

      const job = a.app.get(RetentionJob);
      expect(await job.runOnce(now)).toEqual({
        ran: true,
        pstnEvents: 2500,
        resolutionAttempts: 1200,
        trackedNumbers: 2,
        controlActions: 2,
        webhookEvents: 3,
      });
      expect(await left()).toEqual({ webhook: 1, pstn: 1, attempts: 1, tracked: 1 });

      // Two days on, what was 29 days old is past 30.
      expect(await job.runOnce(later(2 * DAY, now))).toEqual({
        ran: true,
        pstnEvents: 1,
        resolutionAttempts: 1,
        trackedNumbers: 1,
        controlActions: 1,
        webhookEvents: 1,
      });
      expect(await left()).toEqual({ webhook: 0, pstn: 0, attempts: 0, tracked: 0 });
    });
  });

  describe('two instances on one database', () => {
    const onlyOneRan = <R extends { ran: boolean }>(runs: R[]): R => {
      const ran = runs.filter((run) => run.ran);
      expect(ran).toHaveLength(1);
      return ran[0];
    };

    it('applies each pending event once, whichever instance claims it', async () => {
      const now = new Date();
      const ids: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const event = buildEvent('meeting.participant-joined', {
          meetingId: newMeeting(),
          msOpenId: `claimed-${i}`,
        });
        ids.push(await insertEvent(a.db, event, ago(10 * MINUTE, now)));
      }
      // Both instances' queue workers claim pending events; each event is applied once.
      await expect
        .poll(async () => (await events(ids)).every((e) => e.status === 'processed'))
        .toBe(true);
      expect((await events(ids)).map((e) => e.attempts)).toEqual(ids.map(() => 1));
      const [{ n }] = await a.db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pstn_events WHERE ms_open_id LIKE 'claimed-%'`,
      );
      expect(n).toBe(20);
    });

    it('closes stale meetings on one instance per tick, publishing each end once', async () => {
      const now = new Date();
      const stale = [newMeeting(), newMeeting(), newMeeting()];
      for (const meetingId of stale) {
        await seedMeeting(meetingId, ago(25 * HOUR, now));
        await seedCaller(meetingId, `stale-${meetingId}`, ago(25 * HOUR, now));
      }
      const runs = await whileTableLocked('meetings', () =>
        Promise.all([a, b].map((t) => t.app.get(StaleMeetingsJob).runOnce(now))),
      );
      expect(onlyOneRan(runs)).toEqual({ ran: true, meetingsClosed: 3 });
      expect(
        published
          .filter((c) => c.type === 'meeting.ended')
          .map((c) => c.meetingId)
          .sort(),
      ).toEqual([...stale].sort());
      expect(published.filter((c) => c.type === 'participant.left')).toHaveLength(3);
    });

    it('applies retention on one instance per tick', async () => {
      const now = new Date();
      const meetingId = newMeeting();
      await a.db.query(
        `INSERT INTO resolution_attempts (meeting_id, numbers_asked, outcome, latency_ms, created_at)
         SELECT $1, 1, 'ok', 10, $2 FROM generate_series(1, 1500)`,
        [meetingId, ago(40 * DAY, now)],
      );
      const runs = await whileTableLocked('pstn_events', () =>
        Promise.all([a, b].map((t) => t.app.get(RetentionJob).runOnce(now))),
      );
      expect(onlyOneRan(runs)).toEqual({
        ran: true,
        pstnEvents: 0,
        resolutionAttempts: 1500,
        trackedNumbers: 0,
        controlActions: 0,
        webhookEvents: 0,
      });
    });

    it('reconciles on one instance per tick, asking Tencent once', async () => {
      const now = new Date();
      const meetingId = newMeeting();
      await seedMeeting(meetingId, now);
      await seedCaller(meetingId, 'both-caller', ago(10 * MINUTE, now));
      await track(meetingId, '86', '13900000009');
      fake.connect(meetingId, 86, '13900000009', 'both-caller');
      const runs = await whileTableLocked('pstn_participants', () =>
        Promise.all([a, b].map((t) => t.app.get(ReconcileJob).runOnce(now))),
      );
      expect(onlyOneRan(runs)).toMatchObject({ ran: true, meetings: 1 });
      expect(upstream(meetingId, 'ms-open-id')).toHaveLength(1);
      expect((await mappings(meetingId)).map((m) => m.ms_open_id)).toEqual(['both-caller']);
    });
  });

  describe('scheduling', () => {
    it('schedules nothing when SCHEDULER_ENABLED=false', () => {
      expect(a.app.get(SchedulerRegistry).getTimeouts()).toEqual([]);
    });

    it('runs each job on its interval when enabled', async () => {
      const url = await createTestDatabase();
      const t = await startTestApp(
        testEnv(url, {
          REDIS_KEY_PREFIX: testKeyPrefix(),
          STALE_MEETING_INTERVAL_SECONDS: '1',
          STALE_MEETING_AFTER_HOURS: '1',
        }),
      );
      try {
        // A job's timeout is absent while it runs, and set again when the run is over.
        await expect
          .poll(() => t.app.get(SchedulerRegistry).getTimeouts().sort())
          .toEqual(['reconcile', 'retention', 'roster', 'stale-meetings']);
        const meetingId = newMeeting();
        await t.db.query(
          `INSERT INTO meetings (meeting_id, status, started_at, last_event_at)
           VALUES ($1, 'started', $2, $2)`,
          [meetingId, ago(2 * HOUR, new Date())],
        );
        const status = async () =>
          (
            await t.db.query<{ status: string }[]>(
              `SELECT status FROM meetings WHERE meeting_id = $1`,
              [meetingId],
            )
          )[0].status;
        await expect.poll(status, { timeout: 5000 }).toBe('ended');
      } finally {
        await t.close();
        await dropTestDatabase(url);
      }
    });

    it('reads no roster once the run is told the service is stopping', async () => {
      const now = new Date();
      const meetingId = newMeeting();
      await seedMeeting(meetingId, now);
      await seedCaller(meetingId, 'roster-caller', now);
      fake.connect(meetingId, 86, '13900000201', 'roster-caller');
      const roster = a.app.get(RosterJob);
      // A day on, the meeting is due a read (its roster was never read).
      const stopping = new AbortController();
      stopping.abort();
      expect(await roster.runOnce(later(DAY, now), stopping.signal)).toMatchObject({
        ran: true,
        meetings: 0,
      });
      expect(fake.callsFor(meetingId)).toBe(0);
      expect(await roster.runOnce(later(DAY, now))).toMatchObject({ ran: true, meetings: 1 });
      expect(fake.callsFor(meetingId)).toBeGreaterThan(0);
    });

    it('stops a reconcile run between meetings when the service shuts down', async () => {
      const url = await createTestDatabase();
      const t = await startTestApp(
        testEnv(url, {
          TENCENT_API_BASE_URL: fakeUrl,
          TENCENT_TIMEOUT_MS: '1000',
          REDIS_KEY_PREFIX: testKeyPrefix(),
          RECONCILE_INTERVAL_SECONDS: '1',
          RECONCILE_AFTER_SECONDS: '60',
          // Only the reconcile job ticks during the test.
          ROSTER_TICK_SECONDS: '3600',
          STALE_MEETING_INTERVAL_SECONDS: '86400',
          RETENTION_INTERVAL_SECONDS: '86400',
        }),
      );
      // Five meetings due a reconcile, one after the other; the first one's call hangs.
      const meetings = Array.from({ length: 5 }, (_, i) => `${9_100_000_000 + i}`);
      for (const [i, meetingId] of meetings.entries()) {
        const number = `1390000010${i}`;
        await t.db.query(
          `INSERT INTO meetings (meeting_id, status, started_at, last_event_at)
           VALUES ($1, 'started', now(), now())`,
          [meetingId],
        );
        await t.db.query(
          `INSERT INTO pstn_participants (meeting_id, ms_open_id, status, joined_at, last_operate_time)
           VALUES ($1, $2, 'connected', now() - interval '10 minutes', now() - interval '10 minutes')`,
          [meetingId, `caller-${i}`],
        );
        await t.db.query(
          `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source)
           VALUES ($1, '86', $2, 'api')`,
          [meetingId, number],
        );
        fake.connect(meetingId, 86, number, `caller-${i}`);
      }
      fake.hang(1);
      try {
        await expect
          .poll(() => upstream(meetings[0], 'ms-open-id').length, { timeout: 5000 })
          .toBe(1);
      } finally {
        // Shutdown waits for the run, which ends with the meeting it is at.
        await t.close();
        await dropTestDatabase(url);
      }
      expect(upstream(meetings[0], 'ms-open-id').length).toBeGreaterThan(0);
      for (const meetingId of meetings.slice(1)) {
        expect(upstream(meetingId, 'ms-open-id'), meetingId).toEqual([]);
      }
    });
  });
});
