import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.schema';
import { WebhookEventQueue } from '../queue/webhook-event.queue';
import { AdvisoryLock, type JobRun } from './advisory-lock';
import type { ScheduledJob } from './scheduled-job';

/** Rows per DELETE: each batch is its own short transaction, so no lock is held for long. */
const ROWS_PER_BATCH = 1000;
/** A cap per table and run, so a large backlog never holds up shutdown; the next runs go on. */
const BATCHES_PER_RUN = 100;

/** What is deleted, by which timestamp, besides the webhook events (the queue deletes those). */
const TABLES = [
  { table: 'pstn_events', column: 'created_at', count: 'pstnEvents' },
  { table: 'resolution_attempts', column: 'created_at', count: 'resolutionAttempts' },
  { table: 'tracked_numbers', column: 'created_at', count: 'trackedNumbers' },
  { table: 'control_actions', column: 'created_at', count: 'controlActions' },
] as const;

type Deleted = Record<(typeof TABLES)[number]['count'] | 'webhookEvents', number>;

/**
 * Deletes logs and tracked numbers older than RETENTION_DAYS. Meetings, callers and mappings
 * are kept.
 */
@Injectable()
export class RetentionJob implements ScheduledJob {
  readonly name = 'retention';
  readonly intervalSeconds: number;
  private readonly maxAgeMs: number;

  constructor(
    env: Env,
    private readonly lock: AdvisoryLock,
    private readonly dataSource: DataSource,
    private readonly queue: WebhookEventQueue,
  ) {
    this.intervalSeconds = env.RETENTION_INTERVAL_SECONDS;
    this.maxAgeMs = env.RETENTION_DAYS * 86_400_000;
  }

  runOnce(now = new Date()): Promise<JobRun<Deleted>> {
    return this.lock.runExclusive(this.name, () => this.deleteOld(now));
  }

  private async deleteOld(now: Date): Promise<Deleted> {
    const cutoff = new Date(now.getTime() - this.maxAgeMs);
    const deleted = {
      pstnEvents: 0,
      resolutionAttempts: 0,
      trackedNumbers: 0,
      controlActions: 0,
      webhookEvents: 0,
    };
    for (const { table, column, count } of TABLES) {
      deleted[count] = await inBatches(async (limit) => {
        // DELETE ... RETURNING inside a CTE: TypeORM returns plain rows only for a SELECT.
        const [{ n }] = await this.dataSource.query<{ n: number }[]>(
          `WITH gone AS (
             DELETE FROM ${table}
              WHERE id IN (SELECT id FROM ${table} WHERE ${column} < $1 LIMIT $2)
              RETURNING 1)
           SELECT count(*)::int AS n FROM gone`,
          [cutoff, limit],
        );
        return n;
      });
    }
    // Last: deleting an event cascades to its pstn_events, and the old ones have gone by now in
    // batches of their own.
    deleted.webhookEvents = await inBatches((limit) =>
      this.queue.deleteReceivedBefore(cutoff, limit),
    );
    return deleted;
  }
}

/** Runs `deleteBatch` until a batch deletes fewer than it may, or the run's cap; the total. */
async function inBatches(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < BATCHES_PER_RUN; batch += 1) {
    const n = await deleteBatch(ROWS_PER_BATCH);
    total += n;
    if (n < ROWS_PER_BATCH) break;
  }
  return total;
}
