import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.schema';
import {
  RosterReconciler,
  RosterUnreadableError,
  type RepairKind,
} from '../reconciliation/roster-reconciler';
import { openMeetingSql } from '../tracking/meeting.entity';
import { AdvisoryLock, type JobRun } from './advisory-lock';
import type { ScheduledJob } from './scheduled-job';

/**
 * Open meetings whose roster is due a read, in this order, oldest read first:
 * 0. a follow-up: a repair waiting out its grace, or a failed read's backoff, is over;
 * 1. seen before the latest downtime and not read since: events may have been lost meanwhile;
 * 2. a connected phone caller and no webhook for the gap, not read since it went quiet;
 * 3. a connected phone caller and not read for the interval.
 * A meeting backing off after a failed read waits for its time, whatever else applies.
 */
const DUE = `
  SELECT meeting_id FROM (
    SELECT m.meeting_id, COALESCE(m.roster_read_at, m.created_at) AS read_at,
           CASE
             WHEN m.roster_due_at IS NOT NULL THEN 0
             WHEN m.created_at < h.down_until
                  AND (m.roster_read_at IS NULL OR m.roster_read_at < h.down_until) THEN 1
             WHEN NOT EXISTS (SELECT 1 FROM pstn_participants p
                               WHERE p.meeting_id = m.meeting_id AND p.status = 'connected')
               THEN NULL
             WHEN m.last_event_at < $1::timestamptz - $2 * interval '1 second'
                  AND (m.roster_read_at IS NULL
                       OR m.roster_read_at < m.last_event_at + $2 * interval '1 second') THEN 2
             WHEN COALESCE(m.roster_read_at, m.created_at)
                  < $1::timestamptz - $3 * interval '1 second' THEN 3
           END AS reason
      FROM meetings m CROSS JOIN service_heartbeat h
     WHERE ${openMeetingSql('m.status')}
       AND (m.roster_due_at IS NULL OR m.roster_due_at <= $1)
  ) due
  WHERE reason IS NOT NULL
  ORDER BY reason, read_at, meeting_id
  LIMIT $4`;

type RosterCounts = Record<RepairKind, number> & { meetings: number; failed: number };

/**
 * Reads the live rosters of the open meetings that are due one and repairs what webhooks lost
 * (see RosterReconciler), at most ROSTER_MEETINGS_PER_TICK a tick, one meeting at a time: the
 * reads spend only what the shared upstream budget has spare. When Tencent fails or limits a
 * read, the tick ends there and the rest wait for the next one; a read Tencent refuses for
 * that meeting alone (not found, no permission) backs that meeting off and the tick goes on.
 */
@Injectable()
export class RosterJob implements ScheduledJob {
  readonly name = 'roster';
  readonly intervalSeconds: number;
  private readonly logger = new Logger(RosterJob.name);
  private readonly perTick: number;
  private readonly gapSeconds: number;
  private readonly everySeconds: number;

  constructor(
    env: Env,
    private readonly lock: AdvisoryLock,
    private readonly dataSource: DataSource,
    private readonly reconciler: RosterReconciler,
  ) {
    this.intervalSeconds = env.ROSTER_TICK_SECONDS;
    this.perTick = env.ROSTER_MEETINGS_PER_TICK;
    this.gapSeconds = env.ROSTER_GAP_SECONDS;
    this.everySeconds = env.ROSTER_INTERVAL_SECONDS;
  }

  runOnce(now = new Date(), stopping?: AbortSignal): Promise<JobRun<RosterCounts>> {
    return this.lock.runExclusive(this.name, () => this.readDue(now, stopping));
  }

  private async readDue(now: Date, stopping?: AbortSignal): Promise<RosterCounts> {
    const due = await this.dataSource.query<{ meeting_id: string }[]>(DUE, [
      now,
      this.gapSeconds,
      this.everySeconds,
      this.perTick,
    ]);
    const counts: RosterCounts = { meetings: 0, failed: 0, joined: 0, left: 0, ended: 0 };
    for (const { meeting_id } of due) {
      if (stopping?.aborted) break;
      counts.meetings += 1;
      try {
        const read = await this.reconciler.reconcile(meeting_id);
        for (const kind of ['joined', 'left', 'ended'] as const) {
          counts[kind] += read?.repaired[kind] ?? 0;
        }
      } catch (error) {
        counts.failed += 1;
        this.logger.warn(`meeting ${meeting_id}: ${(error as Error).message}`);
        if (!(error instanceof RosterUnreadableError && error.meetingOnly)) break;
      }
    }
    return counts;
  }
}
