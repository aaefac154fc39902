import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChangeFeed } from '../change-feed/change-feed';
import type { TrackingChange } from '../change-feed/tracking-change';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import {
  RealTimeParticipantsClient,
  type MeetingRoster,
} from '../tencent/real-time-participants.client';
import { TencentApiError } from '../tencent/tencent-api.error';
import { MeetingEventApplier, type RosterRepair } from '../tracking/meeting-event.applier';
import { isOpenMeeting } from '../tracking/meeting.entity';

/** Tencent's states whose roster the reader acts on; any other (INIT, ...) changes nothing. */
const STARTED = 'MEETING_STATE_STARTED';
const ENDED = 'MEETING_STATE_ENDED';

export type RepairKind = RosterRepair['kind'];

/** What one read of a meeting's roster found and did. */
export interface RosterRead {
  meetingId: string;
  /** Tencent's state of the meeting, as its roster answered. */
  tencentStatus: string | null;
  repaired: Record<RepairKind, number>;
  /** Disagreements still within their grace period. */
  waiting: { joined: number; left: number };
  /** When the roster is read again for them (null: when its turn comes). */
  nextReadAt: Date | null;
}

/** Tencent's roster of a meeting could not be read; `cause` says why. */
export class RosterUnreadableError extends Error {
  constructor(cause: unknown) {
    super(`Tencent's roster could not be read: ${(cause as Error).message}`, { cause });
  }

  /** Tencent refused this meeting alone (not found, no permission): others may still be read. */
  get meetingOnly(): boolean {
    return this.cause instanceof TencentApiError && !this.cause.retryable;
  }
}

interface CallerRow {
  ms_open_id: string;
  status: string;
  last_operate_time: Date;
  missing_since: Date | null;
}

/** What comparing the roster with the service's callers decided. */
interface Plan {
  repairs: RosterRepair[];
  /** Connected callers the roster lacks for the first time, and callers it lists again. */
  missing: string[];
  found: string[];
  waiting: { joined: number; left: number };
  nextReadAt: Date | null;
}

/**
 * Repairs a meeting's phone callers from Tencent's live roster, for what webhooks lost: a
 * caller Tencent lists that the service lacks is connected from Tencent's join time, a
 * connected caller it no longer lists is marked left, and a meeting it reports ended is ended.
 * Each repair goes through the rules webhook items follow (never undoing a newer event) in one
 * transaction with the meeting locked, and its changes go to the change feed after the commit,
 * so the cache, the event stream and the resolver react as they do to webhooks.
 */
@Injectable()
export class RosterReconciler {
  private readonly graceMs: number;
  private readonly tickSeconds: number;
  private readonly maxBackoffSeconds: number;

  constructor(
    env: Env,
    private readonly client: RealTimeParticipantsClient,
    private readonly dataSource: DataSource,
    private readonly applier: MeetingEventApplier,
    private readonly feed: ChangeFeed,
    private readonly metrics: Metrics,
  ) {
    this.graceMs = env.ROSTER_GRACE_SECONDS * 1000;
    this.tickSeconds = env.ROSTER_TICK_SECONDS;
    this.maxBackoffSeconds = env.ROSTER_INTERVAL_SECONDS;
  }

  /**
   * Reads the meeting's roster and repairs what it contradicts; null for a meeting that is not
   * open here (nothing can be repaired in it, so Tencent is not asked). A failed read throws a
   * RosterUnreadableError once the meeting is set to be read again later, backing off.
   */
  async reconcile(meetingId: string): Promise<RosterRead | null> {
    const [meeting] = await this.dataSource.query<{ status: string }[]>(
      `SELECT status FROM meetings WHERE meeting_id = $1`,
      [meetingId],
    );
    if (!meeting || !isOpenMeeting(meeting.status)) return null;
    const readAt = new Date();
    let roster: MeetingRoster;
    try {
      roster = await this.client.read(meetingId);
    } catch (error) {
      await this.backOff(meetingId);
      throw new RosterUnreadableError(error);
    }
    const { read, changes } = await this.dataSource.transaction((manager) =>
      this.apply(manager, meetingId, readAt, roster),
    );
    await this.feed.publish(changes);
    for (const [kind, n] of Object.entries(read.repaired)) {
      if (n > 0) this.metrics.reconciliationRepairs.inc({ kind }, n);
    }
    return read;
  }

  private async apply(
    manager: EntityManager,
    meetingId: string,
    readAt: Date,
    roster: MeetingRoster,
  ): Promise<{ read: RosterRead; changes: TrackingChange[] }> {
    const read: RosterRead = {
      meetingId,
      tencentStatus: roster.status,
      repaired: { joined: 0, left: 0, ended: 0 },
      waiting: { joined: 0, left: 0 },
      nextReadAt: null,
    };
    const changes: TrackingChange[] = [];
    // Locks the meeting as event processing does: webhook items and repairs apply one at a time.
    const [meeting] = await manager.query<{ status: string; roster_read_at: Date | null }[]>(
      `SELECT status, roster_read_at FROM meetings WHERE meeting_id = $1 FOR UPDATE`,
      [meetingId],
    );
    // Ended meanwhile, or a read that began later was applied first: this one is out of date.
    if (!meeting || !isOpenMeeting(meeting.status) || (meeting.roster_read_at ?? readAt) > readAt) {
      return { read, changes };
    }
    const plan = await this.planFor(manager, meetingId, roster, readAt);
    for (const repair of plan.repairs) {
      const changed = await this.applier.repair(manager, meetingId, repair);
      if (changed.length > 0) read.repaired[repair.kind] += 1;
      changes.push(...changed);
    }
    if (plan.missing.length + plan.found.length > 0) {
      await manager.query(
        `UPDATE pstn_participants
            SET missing_since = CASE WHEN ms_open_id = ANY($2) THEN $4::timestamptz END
          WHERE meeting_id = $1 AND (ms_open_id = ANY($2) OR ms_open_id = ANY($3))`,
        [meetingId, plan.missing, plan.found, readAt],
      );
    }
    await manager.query(
      `UPDATE meetings SET roster_read_at = $2, roster_due_at = $3, roster_failures = 0
        WHERE meeting_id = $1`,
      [meetingId, readAt, plan.nextReadAt],
    );
    read.waiting = plan.waiting;
    read.nextReadAt = plan.nextReadAt;
    return { read, changes };
  }

  /** An ended meeting is ended; a started one compared caller by caller; any other left be. */
  private async planFor(
    manager: EntityManager,
    meetingId: string,
    roster: MeetingRoster,
    readAt: Date,
  ): Promise<Plan> {
    if (roster.status === ENDED)
      return { ...emptyPlan(), repairs: [{ kind: 'ended', at: readAt }] };
    if (roster.status !== STARTED) return emptyPlan();
    // The meeting's connected callers, and the rows of any caller the roster lists.
    const rows = await manager.query<CallerRow[]>(
      `SELECT ms_open_id, status, last_operate_time, missing_since FROM pstn_participants
        WHERE meeting_id = $1 AND (status = 'connected' OR ms_open_id = ANY($2))`,
      [meetingId, roster.phoneCallers.map((caller) => caller.msOpenId)],
    );
    return this.plan(rows, roster, readAt);
  }

  /**
   * Compares a started meeting's roster with the service's callers. A disagreement is repaired
   * once it has lasted the grace period, so that a webhook in flight comes first: a listed
   * caller once its join time is that old, a missing one once a read that long after the first
   * that lacked it still lacks it (it left by that first read, which is the time recorded).
   */
  private plan(rows: CallerRow[], roster: MeetingRoster, readAt: Date): Plan {
    const plan = emptyPlan();
    const graceStart = readAt.getTime() - this.graceMs;
    const readAgainAt = (at: number) => {
      if (plan.nextReadAt === null || at < plan.nextReadAt.getTime())
        plan.nextReadAt = new Date(at);
    };
    const known = new Map(rows.map((row) => [row.ms_open_id, row]));
    const listed = new Set<string>();
    for (const { msOpenId, joinedAt } of roster.phoneCallers) {
      listed.add(msOpenId);
      const row = known.get(msOpenId);
      if (row?.status === 'connected') {
        if (row.missing_since) plan.found.push(msOpenId);
        continue;
      }
      // A join time ahead of this clock, or none, says nothing of when: the caller is in now.
      const at = joinedAt && joinedAt <= readAt ? joinedAt : null;
      if (at && at.getTime() > graceStart) {
        plan.waiting.joined += 1;
        readAgainAt(at.getTime() + this.graceMs);
        continue;
      }
      plan.repairs.push({ kind: 'joined', msOpenId, at: at ?? readAt });
    }
    for (const row of rows) {
      if (row.status !== 'connected' || listed.has(row.ms_open_id)) continue;
      // Joined after the read began: the roster could not list it yet.
      if (row.last_operate_time >= readAt) continue;
      const since = row.missing_since;
      // First lacking, or lacking again after a newer event: its grace starts now.
      if (!since || since < row.last_operate_time) {
        plan.missing.push(row.ms_open_id);
        plan.waiting.left += 1;
        readAgainAt(readAt.getTime() + this.graceMs);
      } else if (since.getTime() > graceStart) {
        plan.waiting.left += 1;
        readAgainAt(since.getTime() + this.graceMs);
      } else {
        plan.repairs.push({ kind: 'left', msOpenId: row.ms_open_id, at: since });
      }
    }
    return plan;
  }

  /** A failed read: the meeting is read again after the tick, doubled per failure in a row. */
  private async backOff(meetingId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE meetings
          SET roster_due_at = $2::timestamptz
                + LEAST($3 * power(2, LEAST(roster_failures, 20)), $4) * interval '1 second',
              roster_failures = roster_failures + 1
        WHERE meeting_id = $1`,
      [meetingId, new Date(), this.tickSeconds, this.maxBackoffSeconds],
    );
  }
}

function emptyPlan(): Plan {
  return { repairs: [], missing: [], found: [], waiting: { joined: 0, left: 0 }, nextReadAt: null };
}
