import type { JobRun } from './advisory-lock';

/**
 * A job the scheduler runs every `intervalSeconds`; tests call `runOnce` with their own clock.
 * A job that waits on Tencent meeting by meeting stops between meetings once `stopping` is
 * aborted (the process is shutting down): the rest wait for the next tick, on any replica.
 */
export interface ScheduledJob {
  readonly name: string;
  readonly intervalSeconds: number;
  runOnce(now?: Date, stopping?: AbortSignal): Promise<JobRun<object>>;
}
