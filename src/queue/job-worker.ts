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
   * Runs the data of every fetched job together. When that throws, each job runs again on its
   * own, and the jobs that throw then fail: pg-boss retries them with backoff, then
   * dead-letters them. So handlers must be idempotent.
   */
  handle(data: T[]): Promise<void>;
  onFailure(error: Error): void;
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
        const done = await this.handleAll(jobs);
        if (done.length > 0) await this.boss.complete(queue, done);
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

  /** Returns the ids of the jobs that succeeded. */
  private async handleAll(jobs: PgBoss.Job<T>[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    try {
      await this.options.handle(jobs.map((job) => job.data));
      return jobs.map((job) => job.id);
    } catch {
      const done: string[] = [];
      for (const job of jobs) {
        if (await this.handleOne(job)) done.push(job.id);
      }
      return done;
    }
  }

  /** True when the job succeeded; a failed job is marked failed (retried by pg-boss). */
  private async handleOne(job: PgBoss.Job<T>): Promise<boolean> {
    try {
      await this.options.handle([job.data]);
      return true;
    } catch (error) {
      this.options.onFailure(error as Error);
      await this.boss.fail(this.options.queue, job.id, { message: (error as Error).message });
      return false;
    }
  }
}
