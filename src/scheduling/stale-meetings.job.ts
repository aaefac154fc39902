import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.schema';
import { ChangeFeed } from '../change-feed/change-feed';
import { MeetingEventApplier } from '../tracking/meeting-event.applier';
import { openMeetingSql } from '../tracking/meeting.entity';
import { AdvisoryLock, type JobRun } from './advisory-lock';
import type { ScheduledJob } from './scheduled-job';

const OPEN = openMeetingSql('status');

/**
 * Closes meetings that went quiet (their end webhook lost, say) exactly as a `meeting.end`
 * would: connected callers leave, resolution stops, and subscribers hear of it.
 */
@Injectable()
export class StaleMeetingsJob implements ScheduledJob {
  readonly name = 'stale-meetings';
  readonly intervalSeconds: number;
  private readonly quietMs: number;

  constructor(
    env: Env,
    private readonly lock: AdvisoryLock,
    private readonly dataSource: DataSource,
    private readonly applier: MeetingEventApplier,
    private readonly feed: ChangeFeed,
  ) {
    this.intervalSeconds = env.STALE_MEETING_INTERVAL_SECONDS;
    this.quietMs = env.STALE_MEETING_AFTER_HOURS * 3_600_000;
  }

  runOnce(now = new Date()): Promise<JobRun<{ meetingsClosed: number }>> {
    return this.lock.runExclusive(this.name, () => this.closeStale(now));
  }

  private async closeStale(now: Date): Promise<{ meetingsClosed: number }> {
    const cutoff = new Date(now.getTime() - this.quietMs);
    const stale = await this.dataSource.query<{ meeting_id: string }[]>(
      `SELECT meeting_id FROM meetings WHERE ${OPEN} AND last_event_at < $1 ORDER BY last_event_at`,
      [cutoff],
    );
    let meetingsClosed = 0;
    for (const { meeting_id } of stale) {
      if (await this.close(meeting_id, cutoff)) meetingsClosed += 1;
    }
    return { meetingsClosed };
  }

  private async close(meetingId: string, cutoff: Date): Promise<boolean> {
    const changes = await this.dataSource.transaction(async (manager) => {
      // Locks the meeting as event processing does, and checks again: an event may have
      // arrived since the list was read.
      const [meeting] = await manager.query<{ last_event_at: Date }[]>(
        `SELECT last_event_at FROM meetings
          WHERE meeting_id = $1 AND ${OPEN} AND last_event_at < $2 FOR UPDATE`,
        [meetingId, cutoff],
      );
      if (!meeting) return [];
      // It ended some time after the last sign of life; that is the best end time known.
      return this.applier.endMeeting(manager, meetingId, 'ended', meeting.last_event_at);
    });
    if (changes.length === 0) return false;
    await this.feed.publish(changes);
    return true;
  }
}
