import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobQueue } from '../queue/job-queue';
import { MeetingResolver } from '../resolution/meeting-resolver';
import { normalizeTencentEvent } from '../webhook/tencent-event.parser';
import { ChangeFeed } from './change-feed';
import { MeetingEventApplier } from './meeting-event.applier';
import type { TrackingChange } from './tracking-change';

/**
 * Applies stored webhook events, one queue job per event: the event's effects and its
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

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.workWebhookEvents((eventId) => this.process(eventId));
  }

  async process(eventId: string): Promise<void> {
    const [row] = await this.dataSource.query<{ payload: Record<string, unknown> }[]>(
      `SELECT payload FROM webhook_events WHERE id = $1`,
      [eventId],
    );
    if (!row) return; // deleted by retention meanwhile
    let changes: TrackingChange[];
    try {
      changes = await this.dataSource.transaction(async (manager) => {
        const applied = await this.applier.apply(
          manager,
          eventId,
          normalizeTencentEvent(row.payload),
        );
        await manager.query(
          `UPDATE webhook_events
              SET status = 'processed', processed_at = now(), attempts = attempts + 1,
                  last_error = NULL
            WHERE id = $1`,
          [eventId],
        );
        return applied;
      });
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
    for (const change of changes) {
      if (change.type === 'phone.connected') void this.resolver.request(change.meetingId);
      if (change.type === 'meeting.ended') this.resolver.cancel(change.meetingId);
    }
    await this.feed.publish(changes);
  }
}
