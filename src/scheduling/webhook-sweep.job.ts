import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.schema';
import { JobQueue, WEBHOOK_EVENT_QUEUE } from '../queue/job-queue';
import { AdvisoryLock, type JobRun } from './advisory-lock';
import type { ScheduledJob } from './scheduled-job';

const EVENTS_PER_RUN = 1000;

/**
 * Stored events whose queue job is gone (never enqueued, expired, deleted) and that are still
 * unprocessed. An event with a live job (waiting, retrying or running) is left alone, so a slow
 * queue is never doubled and a sweep on another replica never enqueues the same events again.
 * pg-boss keeps its jobs in `pgboss.job`; its states are ordered, `completed` and after are final.
 * Only the last day is looked at, through the `received_at` index: `status` has no index, so
 * that marking an event processed stays a HOT update (see the migration that dropped it).
 */
const LOST_EVENTS = `
  SELECT e.id::text AS id
    FROM webhook_events e
   WHERE e.received_at < $1 AND e.received_at >= $1 - interval '1 day'
     AND e.status = 'received'
     AND NOT EXISTS (
           SELECT 1 FROM pgboss.job j
            WHERE j.name = $2 AND j.state < 'completed' AND j.data->'eventIds' ? e.id::text)
   ORDER BY e.id
   LIMIT $3`;

/** The safety net behind the queue: events left unprocessed without a job are enqueued again. */
@Injectable()
export class WebhookSweepJob implements ScheduledJob {
  readonly name = 'webhook-sweep';
  readonly intervalSeconds: number;
  private readonly afterMs: number;

  constructor(
    env: Env,
    private readonly lock: AdvisoryLock,
    private readonly dataSource: DataSource,
    private readonly queue: JobQueue,
  ) {
    this.intervalSeconds = env.WEBHOOK_SWEEP_INTERVAL_SECONDS;
    this.afterMs = env.WEBHOOK_SWEEP_AFTER_SECONDS * 1000;
  }

  runOnce(now = new Date()): Promise<JobRun<{ enqueued: number }>> {
    return this.lock.runExclusive(this.name, () => this.sweep(now));
  }

  private async sweep(now: Date): Promise<{ enqueued: number }> {
    const cutoff = new Date(now.getTime() - this.afterMs);
    // The jobs commit with the read, so once the lock is released the events have live jobs.
    const enqueued = await this.dataSource.transaction(async (manager) => {
      const rows = await manager.query<{ id: string }[]>(LOST_EVENTS, [
        cutoff,
        WEBHOOK_EVENT_QUEUE,
        EVENTS_PER_RUN,
      ]);
      await this.queue.enqueueWebhookEvents(
        rows.map((row) => row.id),
        manager,
      );
      return rows.length;
    });
    if (enqueued > 0) this.queue.wakeWebhookWorker();
    return { enqueued };
  }
}
