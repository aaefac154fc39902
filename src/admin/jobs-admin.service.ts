import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiError } from '../common/api-error';
import { JobQueue, WEBHOOK_EVENT_DEAD_QUEUE, WEBHOOK_EVENT_QUEUE } from '../queue/job-queue';
import type { JobsQueryDto } from './admin-query.dto';
import { pagedQuery, type Page } from './paging.dto';

/**
 * Where each listed state lives in pg-boss: `failed` jobs failed at least once and wait for their
 * automatic retry; `dead` jobs ran out of retries and sit in the dead-letter queue.
 */
const STATES = {
  failed: { queue: WEBHOOK_EVENT_QUEUE, state: 'retry' },
  dead: { queue: WEBHOOK_EVENT_DEAD_QUEUE, state: 'created' },
} as const;

interface JobRow {
  id: string;
  name: string;
  state: string;
  data: { eventIds: string[] };
  output: { message?: string } | null;
  retry_count: number;
  created_on: Date;
  start_after: Date;
}

/** The queue's failures, read from pg-boss's own table, and retried through its API. */
@Injectable()
export class JobsAdminService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueue,
  ) {}

  async list(query: JobsQueryDto): Promise<Page<ReturnType<typeof jobView>>> {
    const { queue, state } = STATES[query.state];
    const rows = await pagedQuery<JobRow>(
      this.dataSource,
      `SELECT id, name, state, data, output, retry_count, created_on, start_after
         FROM pgboss.job WHERE name = $1 AND state = $2
        ORDER BY created_on DESC, id`,
      [queue, state],
      query,
    );
    return { ...rows, items: rows.items.map(jobView) };
  }

  /** Runs the job's events now as a new job, and settles the old one so it leaves the list. */
  async retry(id: string): Promise<void> {
    const [job] = await this.dataSource.query<JobRow[]>(
      `SELECT id, name, state, data FROM pgboss.job
        WHERE id = $1 AND ((name = $2 AND state = $3) OR (name = $4 AND state = $5))`,
      [id, STATES.failed.queue, STATES.failed.state, STATES.dead.queue, STATES.dead.state],
    );
    if (!job) throw new ApiError(404, 'job_not_found', 'no failed or dead job with this id');
    await this.requeue(job);
    this.queue.wakeWebhookWorker();
  }

  /** Retries every failed and dead job; answers how many. */
  async retryAll(): Promise<number> {
    const jobs = await this.dataSource.query<JobRow[]>(
      `SELECT id, name, state, data FROM pgboss.job
        WHERE (name = $1 AND state = $2) OR (name = $3 AND state = $4)`,
      [STATES.failed.queue, STATES.failed.state, STATES.dead.queue, STATES.dead.state],
    );
    for (const job of jobs) await this.requeue(job);
    this.queue.wakeWebhookWorker();
    return jobs.length;
  }

  private async requeue(job: JobRow): Promise<void> {
    await this.queue.enqueueWebhookEvents(job.data.eventIds);
    await this.queue.boss.cancel(job.name, job.id);
  }
}

function jobView(row: JobRow) {
  return {
    id: row.id,
    queue: row.name,
    state: row.name === WEBHOOK_EVENT_DEAD_QUEUE ? 'dead' : 'failed',
    event_ids: row.data.eventIds,
    error: row.output?.message ?? null,
    retry_count: row.retry_count,
    created_at: row.created_on,
    next_retry_at: row.name === WEBHOOK_EVENT_QUEUE ? row.start_after : null,
  };
}
