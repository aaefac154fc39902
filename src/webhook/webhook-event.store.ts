import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { GroupCommit } from '../common/group-commit';
import { insertWebhookJobSql, JobQueue } from '../queue/job-queue';

export interface NewWebhookEvent {
  dedupeKey: string;
  event: string;
  traceId: string | null;
  meetingId: string | null;
  /** False when no item can change meetings or phone callers. */
  affectsTracking: boolean;
  /** The decoded JSON text, stored as jsonb. */
  plaintext: string;
}

/** Up to this many deliveries share one statement: one queue job holds them all. */
const MAX_BATCH = 256;
/**
 * One statement in flight; deliveries arriving meanwhile wait and go together in the next one.
 * Measured against 2 to 4 in flight: fewer, larger statements serve more deliveries per second.
 */
const MAX_IN_FLIGHT = 1;

/**
 * One statement, so one round trip and one implicit transaction: store the batch and enqueue a
 * job for the rows that were new. Postgres answers only after the commit. The payloads travel
 * as one JSON array built by joining the decoded texts (each is a JSON object already), which
 * spares escaping every payload into a Postgres array literal.
 */
const STORE_AND_ENQUEUE = `
  WITH inserted AS (
    INSERT INTO webhook_events
      (dedupe_key, event, trace_id, meeting_id, affects_tracking, payload)
    SELECT k.dedupe_key, k.event, k.trace_id, k.meeting_id, k.affects_tracking, p.payload
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[])
           WITH ORDINALITY AS k(dedupe_key, event, trace_id, meeting_id, affects_tracking, n)
      JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS p(payload, n) USING (n)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id),
  enqueued AS (${insertWebhookJobSql('inserted')})
  SELECT count(*) AS stored FROM inserted`;

/**
 * Stores delivered events and enqueues their processing in the same transaction. Concurrent
 * deliveries are group-committed: one statement and one commit for the whole batch. A delivery
 * whose dedupe key is already stored adds nothing.
 */
@Injectable()
export class WebhookEventStore {
  private readonly writer = new GroupCommit<NewWebhookEvent, void>(
    (events) => this.insertBatch(events),
    MAX_BATCH,
    MAX_IN_FLIGHT,
  );

  /**
   * TypeORM's own pg pool: the statement is prepared once per connection under a name, which
   * spares Postgres planning it for every batch (a quarter of its time on it otherwise).
   */
  private readonly pool: Pool;

  constructor(
    dataSource: DataSource,
    private readonly queue: JobQueue,
  ) {
    this.pool = (dataSource.driver as PostgresDriver).master as Pool;
  }

  /** Settles once the event is committed (or was already stored). */
  save(event: NewWebhookEvent): Promise<void> {
    return this.writer.submit(event);
  }

  private async insertBatch(events: NewWebhookEvent[]): Promise<void[]> {
    const unique = [...new Map(events.map((event) => [event.dedupeKey, event])).values()];
    await this.pool.query({
      name: 'store-and-enqueue-webhook-events',
      text: STORE_AND_ENQUEUE,
      values: [
        unique.map((event) => event.dedupeKey),
        unique.map((event) => event.event),
        unique.map((event) => event.traceId),
        unique.map((event) => event.meetingId),
        unique.map((event) => event.affectsTracking),
        `[${unique.map((event) => event.plaintext).join(',')}]`,
      ],
    });
    this.queue.wakeWebhookWorker();
    return events.map(() => undefined);
  }
}
