import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import PgBoss from 'pg-boss';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import { JobWorker } from './job-worker';

export const WEBHOOK_EVENT_QUEUE = 'webhook-event';
export const WEBHOOK_EVENT_DEAD_QUEUE = 'webhook-event-dead';
const WORKER_BATCH = 5;
const POLL_MS = 1000;
/** Serialises queue setup across replicas starting together. */
const QUEUE_SETUP_LOCK = 7_150_003;

/** Events per job: a group-committed intake batch (256 at most) fits in one. */
const EVENTS_PER_JOB = 256;

/**
 * Creates one webhook-event job holding the ids in `relation` (a CTE or table with a bigint
 * `id` column), as `boss.send()` would, in the same statement as whatever produced the ids:
 * intake stores a batch and enqueues it in one round trip. Settings come from the queue's row,
 * as pg-boss's own insert takes them; a test compares the row with one made by pg-boss.
 */
export function insertWebhookJobSql(relation: string): string {
  return `
    INSERT INTO pgboss.job
      (name, data, dead_letter, expire_in, keep_until, retry_limit, retry_delay, retry_backoff,
       policy)
    SELECT q.name, jsonb_build_object('eventIds', batch.event_ids), q.dead_letter,
           COALESCE(q.expire_seconds, 900) * interval '1 second',
           now() + COALESCE(q.retention_minutes * interval '1 minute', interval '14 days'),
           COALESCE(q.retry_limit, 2),
           CASE WHEN q.retry_backoff THEN GREATEST(COALESCE(q.retry_delay, 0), 1)
                ELSE COALESCE(q.retry_delay, 0) END,
           COALESCE(q.retry_backoff, false), q.policy
      FROM pgboss.queue q,
           (SELECT jsonb_agg(id::text ORDER BY id) AS event_ids FROM ${relation}) batch
     WHERE q.name = '${WEBHOOK_EVENT_QUEUE}' AND batch.event_ids IS NOT NULL`;
}

const ENQUEUE_EVENTS = `
  WITH ids AS (SELECT unnest($1::bigint[]) AS id)
  ${insertWebhookJobSql('ids')}`;

/** The caller's transaction (a TypeORM query runner or entity manager), to enqueue inside it. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/**
 * The durable job queue: pg-boss on the service's own Postgres. Jobs are rows, claimed with
 * SKIP LOCKED, retried with backoff, and moved to a dead-letter queue when retries run out.
 */
@Injectable()
export class JobQueue implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(JobQueue.name);
  readonly boss: PgBoss;
  private webhookWorker: JobWorker<{ eventIds: string[] }> | undefined;

  constructor(
    private readonly env: Env,
    private readonly metrics: Metrics,
    private readonly dataSource: DataSource,
  ) {
    this.boss = new PgBoss({
      connectionString: env.DATABASE_URL,
      max: 4,
      application_name: 'pstn-tracker-queue',
      schedule: false,
      maintenanceIntervalSeconds: env.QUEUE_MAINTENANCE_INTERVAL_SECONDS,
    });
    this.boss.on('error', (error) => this.logger.error(`queue error: ${error.message}`));
    metrics.gauge('pstn_queue_depth', 'Webhook processing jobs waiting to run', () =>
      this.boss.getQueueSize(WEBHOOK_EVENT_QUEUE),
    );
  }

  async onModuleInit(): Promise<void> {
    await this.boss.start();
    const options = {
      name: WEBHOOK_EVENT_QUEUE,
      retryLimit: 5,
      retryDelay: 2,
      retryBackoff: true,
      expireInSeconds: this.env.QUEUE_JOB_TIMEOUT_SECONDS,
      deadLetter: WEBHOOK_EVENT_DEAD_QUEUE,
    };
    // Replicas creating the queues (and their partitions) at once deadlock in Postgres: the
    // transaction holding this lock lets one replica at a time set them up.
    await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [QUEUE_SETUP_LOCK]);
      await this.boss.createQueue(WEBHOOK_EVENT_DEAD_QUEUE);
      // createQueue leaves an existing queue as it was; updateQueue applies changed settings.
      await this.boss.createQueue(WEBHOOK_EVENT_QUEUE, options);
      await this.boss.updateQueue(WEBHOOK_EVENT_QUEUE, options);
    });
  }

  /**
   * Enqueues the processing of stored events (replays, sweeps), inside the caller's transaction
   * when there is one: one job per 256 events.
   */
  async enqueueWebhookEvents(eventIds: string[], transaction?: Queryable): Promise<void> {
    const db = transaction ?? this.dataSource;
    for (let i = 0; i < eventIds.length; i += EVENTS_PER_JOB) {
      await db.query(ENQUEUE_EVENTS, [eventIds.slice(i, i + EVENTS_PER_JOB)]);
    }
  }

  /**
   * Hands the events of the jobs fetched together to `handler` in one call; it answers the
   * events that failed. A job holding one of them is failed: pg-boss retries it with backoff,
   * then moves it to the dead-letter queue. Handlers are idempotent, so events of a retried job
   * that had been applied change nothing.
   */
  workWebhookEvents(handler: (eventIds: string[]) => Promise<Set<string>>): void {
    this.webhookWorker = new JobWorker<{ eventIds: string[] }>(this.boss, {
      queue: WEBHOOK_EVENT_QUEUE,
      batchSize: WORKER_BATCH,
      pollMs: POLL_MS,
      handle: async (jobs) => {
        const failed = await handler(jobs.flatMap((job) => job.eventIds));
        return jobs.map(({ eventIds }) => {
          const ids = eventIds.filter((id) => failed.has(id));
          return ids.length === 0 ? null : `events ${ids.join(', ')} failed`;
        });
      },
      onFailure: () => this.metrics.processingFailures.inc(),
      logger: this.logger,
    });
    this.webhookWorker.start();
  }

  /** Asks the local worker to fetch now instead of at its next poll. */
  wakeWebhookWorker(): void {
    this.webhookWorker?.notify();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.webhookWorker?.stop();
    await this.boss.stop({ graceful: true, timeout: 5000, wait: true });
  }
}
