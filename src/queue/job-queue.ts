import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import PgBoss from 'pg-boss';
import { Env } from '../config/env.schema';

export const WEBHOOK_EVENT_QUEUE = 'webhook-event';
export const WEBHOOK_EVENT_DEAD_QUEUE = 'webhook-event-dead';
const WORKER_BATCH = 5;

/** Runs SQL on the caller's connection, so a job is enqueued inside the caller's transaction. */
export interface SqlExecutor {
  executeSql(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * The durable job queue: pg-boss on the service's own Postgres. Jobs are rows, claimed with
 * SKIP LOCKED, retried with backoff, and moved to a dead-letter queue when retries run out.
 */
@Injectable()
export class JobQueue implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(JobQueue.name);
  readonly boss: PgBoss;
  private webhookWorkerId: string | undefined;

  constructor(env: Env) {
    this.boss = new PgBoss({
      connectionString: env.DATABASE_URL,
      max: 4,
      application_name: 'pstn-tracker-queue',
      schedule: false,
    });
    this.boss.on('error', (error) => this.logger.error(`queue error: ${error.message}`));
  }

  async onModuleInit(): Promise<void> {
    await this.boss.start();
    await this.boss.createQueue(WEBHOOK_EVENT_DEAD_QUEUE);
    await this.boss.createQueue(WEBHOOK_EVENT_QUEUE, {
      name: WEBHOOK_EVENT_QUEUE,
      retryLimit: 5,
      retryDelay: 2,
      retryBackoff: true,
      deadLetter: WEBHOOK_EVENT_DEAD_QUEUE,
    });
  }

  /**
   * Enqueues the processing of stored events, on the given transaction's connection when there
   * is one: one job for the whole group-committed batch, so intake adds one queue row per
   * transaction.
   */
  async enqueueWebhookEvents(eventIds: string[], db?: SqlExecutor): Promise<void> {
    if (eventIds.length === 0) return;
    await this.boss.insert([{ name: WEBHOOK_EVENT_QUEUE, data: { eventIds } }], db ? { db } : {});
  }

  /**
   * Hands each job's events to `handler`; a job whose handler throws is failed, and pg-boss
   * retries it with backoff, then moves it to the dead-letter queue. Handlers are idempotent,
   * so events of a retried job that had been applied change nothing.
   */
  async workWebhookEvents(handler: (eventIds: string[]) => Promise<void>): Promise<void> {
    this.webhookWorkerId = await this.boss.work<{ eventIds: string[] }>(
      WEBHOOK_EVENT_QUEUE,
      { batchSize: WORKER_BATCH, pollingIntervalSeconds: 1 },
      async (jobs) => {
        for (const job of jobs) {
          await handler(job.data.eventIds).catch((error: Error) =>
            this.boss.fail(WEBHOOK_EVENT_QUEUE, job.id, { message: error.message }),
          );
        }
        // A full batch means a backlog: fetch again at once instead of after the polling delay.
        if (jobs.length === WORKER_BATCH) this.wakeWebhookWorker();
      },
    );
  }

  /** Asks the local worker to fetch now instead of at its next poll. */
  wakeWebhookWorker(): void {
    if (this.webhookWorkerId) this.boss.notifyWorker(this.webhookWorkerId);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: 5000, wait: true });
  }
}
