import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Env } from '../config/env.schema';
import { ReconcileJob } from './reconcile.job';
import { RetentionJob } from './retention.job';
import { RosterJob } from './roster.job';
import type { ScheduledJob } from './scheduled-job';
import { StaleMeetingsJob } from './stale-meetings.job';

/**
 * Calls each job's `runOnce` on its interval, through SchedulerRegistry timeouts. Ticks fall on
 * whole multiples of the interval since the epoch, so every replica ticks at the same moment
 * and the job's advisory lock lets one of them run it. The next tick is set once a run is over,
 * so one job never overlaps itself in a process.
 */
@Injectable()
export class JobScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobScheduler.name);
  private readonly jobs: ScheduledJob[];
  private readonly running = new Set<Promise<void>>();
  /** Aborted once shutdown begins: runs in progress stop between meetings. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly env: Env,
    private readonly registry: SchedulerRegistry,
    reconcile: ReconcileJob,
    roster: RosterJob,
    staleMeetings: StaleMeetingsJob,
    retention: RetentionJob,
  ) {
    this.jobs = [reconcile, roster, staleMeetings, retention];
  }

  onApplicationBootstrap(): void {
    if (!this.env.SCHEDULER_ENABLED) return;
    for (const job of this.jobs) this.scheduleNext(job);
  }

  private scheduleNext(job: ScheduledJob): void {
    const intervalMs = job.intervalSeconds * 1000;
    const timer = setTimeout(() => this.tick(job), intervalMs - (Date.now() % intervalMs));
    this.registry.addTimeout(job.name, timer);
  }

  private tick(job: ScheduledJob): void {
    this.registry.deleteTimeout(job.name);
    const run = job
      .runOnce(new Date(), this.stopping.signal)
      .then((result) => {
        // Counts only: nothing a job reports identifies a caller.
        if (result.ran) this.logger.debug(`${job.name} ran: ${JSON.stringify(result)}`);
      })
      .catch((error: Error) => this.logger.warn(`${job.name} failed: ${error.message}`))
      .finally(() => {
        this.running.delete(run);
        if (!this.stopping.signal.aborted) this.scheduleNext(job);
      });
    this.running.add(run);
  }

  /**
   * Before the connections close: no new ticks, and the runs in progress finish the meeting
   * they are at.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    for (const job of this.jobs) {
      // The registry may have cleared its timeouts already (its own shutdown hook).
      if (this.registry.doesExist('timeout', job.name)) this.registry.deleteTimeout(job.name);
    }
    await Promise.allSettled([...this.running]);
  }
}
