import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.schema';
import { MeetingResolver } from '../resolution/meeting-resolver';
import { openMeetingSql } from '../tracking/meeting.entity';
import { AdvisoryLock, type JobRun } from './advisory-lock';
import { CalloutMapper } from './callout-mapper';
import type { ScheduledJob } from './scheduled-job';

/**
 * Open meetings (started, or known only through their callers) with a connected phone caller
 * that has been unmapped since before the cutoff, and no ms-open-id call since then: the
 * resolver's own follow-ups have stopped (horizon passed, a final Tencent error, a restart).
 * Without tracked numbers there is nothing to ask, unless the callout list may add some.
 */
const NEEDS_RECONCILING = `
  SELECT DISTINCT p.meeting_id
    FROM pstn_participants p
    JOIN meetings m ON m.meeting_id = p.meeting_id
   WHERE ${openMeetingSql('m.status')}
     AND p.status = 'connected'
     AND COALESCE(p.joined_at, p.last_operate_time) < $1
     AND NOT EXISTS (SELECT 1 FROM ms_open_id_mappings mm
                      WHERE mm.meeting_id = p.meeting_id AND mm.ms_open_id = p.ms_open_id)
     AND NOT EXISTS (SELECT 1 FROM resolution_attempts a
                      WHERE a.meeting_id = p.meeting_id AND a.created_at >= $1)
     AND ($2 OR EXISTS (SELECT 1 FROM tracked_numbers t WHERE t.meeting_id = p.meeting_id))
   ORDER BY p.meeting_id`;

/** Resolves again the meetings whose connected phone callers stay unmapped. */
@Injectable()
export class ReconcileJob implements ScheduledJob {
  readonly name = 'reconcile';
  readonly intervalSeconds: number;
  private readonly logger = new Logger(ReconcileJob.name);
  private readonly afterMs: number;
  private readonly readCallouts: boolean;

  constructor(
    env: Env,
    private readonly lock: AdvisoryLock,
    private readonly dataSource: DataSource,
    private readonly resolver: MeetingResolver,
    private readonly callouts: CalloutMapper,
  ) {
    this.intervalSeconds = env.RECONCILE_INTERVAL_SECONDS;
    this.afterMs = env.RECONCILE_AFTER_SECONDS * 1000;
    this.readCallouts = env.RECONCILE_CALLOUTS;
  }

  runOnce(
    now = new Date(),
    stopping?: AbortSignal,
  ): Promise<JobRun<{ meetings: number; calloutMappings: number }>> {
    return this.lock.runExclusive(this.name, () => this.reconcile(now, stopping));
  }

  /** Counts the meetings resolved again (all that were due, unless `stopping` cut the run short). */
  private async reconcile(
    now: Date,
    stopping?: AbortSignal,
  ): Promise<{ meetings: number; calloutMappings: number }> {
    const cutoff = new Date(now.getTime() - this.afterMs);
    const meetings = await this.dataSource.query<{ meeting_id: string }[]>(NEEDS_RECONCILING, [
      cutoff,
      this.readCallouts,
    ]);
    let reconciled = 0;
    let calloutMappings = 0;
    // One meeting at a time: the upstream rate limit is shared with live resolution.
    for (const { meeting_id } of meetings) {
      if (stopping?.aborted) break;
      if (this.readCallouts) calloutMappings += await this.mapCallouts(meeting_id);
      await this.resolver.request(meeting_id, false);
      reconciled += 1;
    }
    return { meetings: reconciled, calloutMappings };
  }

  /** A failed callout read is logged and skipped: the resolver still runs, the next tick retries. */
  private async mapCallouts(meetingId: string): Promise<number> {
    try {
      return await this.callouts.map(meetingId);
    } catch (error) {
      this.logger.warn(`callout list of meeting ${meetingId} failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
