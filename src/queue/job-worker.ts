import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@nestjs/common';
import type PgBoss from 'pg-boss';

/** How long the worker lets jobs gather after a batch that did not fill up. */
const COALESCE_MS = 10;

export interface JobWorkerOptions<T> {
  queue: string;
  batchSize: number;
  pollMs: number;
  /**
   * Runs the data of every fetched job together and answers, job by job, null when it
   * succeeded or why it failed. Failed jobs (all of them when this throws) are retried by
   * pg-boss with backoff, then dead-lettered, so handlers must be idempotent.
   */
  handle(data: T[]): Promise<(string | null)[]>;
  onFailure(): void;
  logger: Logger;
}

/**
 * One fetch-run-settle loop over a pg-boss queue. pg-boss's own `work()` does not await its
 * call to `complete()`, so a Postgres outage at that moment becomes an unhandled rejection that
 * would stop the process; here every database call is awaited and its failure logged. A job
 * left active by such a failure runs again after it expires, and handlers are idempotent.
 */
export class JobWorker<T extends object> {
  private stopping = false;
  /** Set by notify(): jobs may have arrived since the last fetch. */
  private notified = false;
  /** Ends the current sleep, while there is one. */
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly boss: PgBoss,
    private readonly options: JobWorkerOptions<T>,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Fetch now instead of at the next poll. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.notify();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { queue, batchSize, pollMs, logger } = this.options;
    while (!this.stopping) {
      this.notified = false;
      let fetched = 0;
      try {
        const jobs = await this.boss.fetch<T>(queue, { batchSize });
        fetched = jobs.length;
        if (jobs.length > 0) await this.settle(jobs);
      } catch (error) {
        logger.warn(`queue ${queue}: ${(error as Error).message}`);
      }
      // A full batch means a backlog: fetch again at once. Otherwise wait a moment, so that
      // during a burst (a notify per stored batch) one fetch takes several jobs, then sleep
      // until notified or the next poll.
      if (fetched < batchSize && !this.stopping) {
        await delay(COALESCE_MS);
        if (!this.notified && !this.stopping) await this.sleep(pollMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Runs the jobs, then completes the ones that succeeded and fails the others. */
  private async settle(jobs: PgBoss.Job<T>[]): Promise<void> {
    const { queue } = this.options;
    const outcomes = await this.options
      .handle(jobs.map((job) => job.data))
      .catch((error: Error) => jobs.map(() => error.message));
    const done = jobs.filter((_, i) => outcomes[i] === null).map((job) => job.id);
    if (done.length > 0) await this.boss.complete(queue, done);
    for (const [i, job] of jobs.entries()) {
      const failure = outcomes[i];
      if (failure === null) continue;
      this.options.onFailure();
      await this.boss.fail(queue, job.id, { message: failure });
    }
  }
}
