import type { JobRun } from './advisory-lock';

/** A job the scheduler runs every `intervalSeconds`; tests call `runOnce` with their own clock. */
export interface ScheduledJob {
  readonly name: string;
  readonly intervalSeconds: number;
  runOnce(now?: Date): Promise<JobRun<object>>;
}
