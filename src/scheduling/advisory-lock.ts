import { Injectable, Logger } from '@nestjs/common';
import { Client } from 'pg';
import { Env } from '../config/env.schema';

/** First key of every job lock; the second is a hash of the job's name. */
const JOB_LOCK_NAMESPACE = 7_150_002;

/** What a scheduled run did: nothing when another replica held the job's lock. */
export type JobRun<Counts extends object> = { ran: false } | ({ ran: true } & Counts);

/**
 * Runs a job under a Postgres session advisory lock, so that replicas sharing the database
 * never run one job at once. The lock lives on a connection of its own, outside the pool: the
 * job's statements commit one by one on the pool (no long transaction), and closing that
 * connection releases the lock whatever happened, so a lock can never leak into a pooled
 * connection.
 */
@Injectable()
export class AdvisoryLock {
  private readonly logger = new Logger(AdvisoryLock.name);

  constructor(private readonly env: Env) {}

  async runExclusive<Counts extends object>(
    name: string,
    work: () => Promise<Counts>,
  ): Promise<JobRun<Counts>> {
    const client = new Client({
      connectionString: this.env.DATABASE_URL,
      connectionTimeoutMillis: 5000,
      application_name: 'pstn-tracker-scheduler',
    });
    // Losing the connection releases the lock: another replica may then start the job while
    // this run finishes, which the jobs tolerate (each is idempotent). Without this listener a
    // dropped connection would crash the process.
    client.on('error', (error) => this.logger.warn(`lock for ${name} lost: ${error.message}`));
    await client.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
        [JOB_LOCK_NAMESPACE, name],
      );
      if (!rows[0].locked) return { ran: false };
      return { ran: true, ...(await work()) };
    } finally {
      await client.end();
    }
  }
}
