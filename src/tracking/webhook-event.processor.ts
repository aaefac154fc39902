import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ChangeFeed } from '../change-feed/change-feed';
import type { TrackingChange } from '../change-feed/tracking-change';
import { Metrics } from '../metrics/metrics';
import type { ClaimedEvent } from '../queue/queue-worker';
import { WebhookEventQueue } from '../queue/webhook-event.queue';
import { parseTencentEvent } from '../webhook/tencent-event.parser';
import { MeetingEventApplier } from './meeting-event.applier';

/**
 * Applies stored webhook events as the queue hands them over: an event's effects and its
 * `processed` mark commit together, and what changed goes to the change feed after the commit
 * (the resolver, the cache and the event stream react to it there).
 */
@Injectable()
export class WebhookEventProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(WebhookEventProcessor.name);

  constructor(
    private readonly queue: WebhookEventQueue,
    private readonly applier: MeetingEventApplier,
    private readonly feed: ChangeFeed,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.work<TrackingChange[]>({
      apply: (manager, events) => this.apply(manager, events),
      afterCommit: (changes) => this.feed.publish(changes),
      onFailure: (id, error) => {
        this.metrics.processingFailures.inc();
        this.logger.warn(`webhook event ${id} failed: ${error.message}`);
      },
    });
  }

  /**
   * Applies claimed events in meeting order, so concurrent batches lock meetings in the same
   * order. The payload is read from its text with intake's parser (ids beyond 2^53 stay exact);
   * a replayed quarantined event is read from the text it was kept as.
   */
  async apply(manager: EntityManager, events: ClaimedEvent[]): Promise<TrackingChange[]> {
    const ordered = [...events].sort(
      (a, b) =>
        compare(a.meetingId ?? '', b.meetingId ?? '') ||
        compare(a.id.padStart(20), b.id.padStart(20)),
    );
    const changes: TrackingChange[] = [];
    for (const claimed of ordered) {
      const { event } = parseTencentEvent(claimed.payload ?? claimed.raw ?? '');
      changes.push(...(await this.applier.apply(manager, claimed.id, event)));
    }
    return changes;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
