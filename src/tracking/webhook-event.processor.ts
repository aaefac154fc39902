import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobQueue } from '../queue/job-queue';
import { MeetingResolver } from '../resolution/meeting-resolver';
import { normalizeTencentEvent } from '../webhook/tencent-event.parser';
import { ChangeFeed } from './change-feed';
import { MeetingEventApplier } from './meeting-event.applier';
import type { TrackingChange } from './tracking-change';

const MARK_PROCESSED = `
  UPDATE webhook_events
     SET status = 'processed', processed_at = now(), attempts = attempts + 1, last_error = NULL
   WHERE id = ANY($1::bigint[])`;

/**
 * Applies stored webhook events, a queue job's worth at a time: the event's effects and its
 * `processed` mark commit together, and what changed is acted on after the commit.
 */
@Injectable()
export class WebhookEventProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueue,
    private readonly applier: MeetingEventApplier,
    private readonly resolver: MeetingResolver,
    private readonly feed: ChangeFeed,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.workWebhookEvents((eventIds) => this.processBatch(eventIds));
  }

  /**
   * Applies a batch of events in one transaction (in meeting order, so concurrent batches lock
   * meetings in the same order). If the batch fails, each event is applied on its own, so one bad
   * event never holds back the others; answers the events that failed (marked `failed`).
   */
  async processBatch(eventIds: string[]): Promise<Set<string>> {
    const failed = new Set<string>();
    try {
      await this.applyAndMark(eventIds);
    } catch {
      for (const id of eventIds) await this.process(id).catch(() => failed.add(id));
    }
    return failed;
  }

  /** Applies one event (again): idempotent, so a replay changes nothing already applied. */
  async process(eventId: string): Promise<void> {
    try {
      await this.applyAndMark([eventId]);
    } catch (error) {
      await this.dataSource
        .query(
          `UPDATE webhook_events SET status = 'failed', attempts = attempts + 1, last_error = $2
            WHERE id = $1`,
          [eventId, (error as Error).message],
        )
        .catch(() => undefined);
      throw error;
    }
  }

  /**
   * Only events that can change tracking (flagged at intake) are read; the others are just
   * marked, in one statement when the batch has none to apply. Ids deleted by retention
   * meanwhile are simply absent.
   */
  private async applyAndMark(eventIds: string[]): Promise<void> {
    const rows = await this.dataSource.query<EventRow[]>(
      `SELECT id, payload FROM webhook_events
        WHERE id = ANY($1::bigint[]) AND affects_tracking
        ORDER BY meeting_id, id`,
      [eventIds],
    );
    if (rows.length === 0) {
      await this.dataSource.query(MARK_PROCESSED, [eventIds]);
      return;
    }
    const changes = await this.dataSource.transaction(async (manager) => {
      const applied: TrackingChange[] = [];
      for (const row of rows) {
        applied.push(
          ...(await this.applier.apply(manager, row.id, normalizeTencentEvent(row.payload))),
        );
      }
      await manager.query(MARK_PROCESSED, [eventIds]);
      return applied;
    });
    for (const change of changes) {
      if (change.type === 'phone.connected') void this.resolver.request(change.meetingId);
      if (change.type === 'meeting.ended') this.resolver.cancel(change.meetingId);
    }
    await this.feed.publish(changes);
  }
}

interface EventRow {
  id: string;
  payload: Record<string, unknown>;
}
