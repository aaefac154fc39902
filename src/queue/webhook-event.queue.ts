import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { pagedQuery, type Page, type PagingDto } from '../common/paging';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import {
  QueueWorker,
  type ClaimableTable,
  type ClaimedEvent,
  type EventHandler,
} from './queue-worker';
import type { WebhookEventStatus } from './webhook-event.entity';

/**
 * The one owner of `webhook_events`, which is both the durable record of every delivery and the
 * queue of their processing (see the migration that made it so): intake stores through it, the
 * worker claims and settles through it, and the admin and stats views read through it. No other
 * file names the table's columns.
 */

/** A verified, decoded delivery, as intake stores it. */
export interface NewWebhookEvent {
  dedupeKey: string;
  event: string;
  traceId: string | null;
  meetingId: string | null;
  /** False when no item can change meetings or phone callers: stored already processed. */
  affectsTracking: boolean;
  /** The decoded JSON text, stored as jsonb. */
  plaintext: string;
}

/** A signed delivery kept as text: Postgres refused it as jsonb, or it did not decode. */
export interface QuarantinedWebhookEvent {
  dedupeKey: string;
  event: string;
  traceId: string | null;
  meetingId: string | null;
  raw: string;
  reason: string;
}

export interface EventFilter {
  event?: string;
  meetingId?: string;
  status?: WebhookEventStatus;
  from?: string;
  to?: string;
}

export type FailedState = 'failed' | 'dead';

export type StoredEvent = Record<string, unknown> & { payload: string | null; raw: string | null };

/** Events claimed and applied in one transaction. */
const CLAIM_BATCH = 100;
/** How often an idle worker looks for events that other replicas stored. */
const POLL_MS = 1000;
/** A failed event waits 2 s, 4 s, 8 s... (at most this) before its next attempt. */
const MAX_BACKOFF_S = 300;

const PENDING = `status IN ('received', 'failed') AND run_after <= now()`;

/**
 * One statement, so one round trip and one implicit transaction, for a whole group-committed
 * batch. The payloads travel as one JSON array built by joining the decoded texts (each is a
 * JSON object already), which spares escaping every payload into a Postgres array literal.
 * Events that cannot change tracking are stored processed: nothing would ever read them again.
 */
const INSERT_BATCH = `
  WITH inserted AS (
    INSERT INTO webhook_events
      (dedupe_key, event, trace_id, meeting_id, affects_tracking, status, processed_at, payload)
    SELECT k.dedupe_key, k.event, k.trace_id, k.meeting_id, k.affects_tracking,
           CASE WHEN k.affects_tracking THEN 'received' ELSE 'processed' END,
           CASE WHEN k.affects_tracking THEN NULL ELSE now() END,
           p.payload
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[])
           WITH ORDINALITY AS k(dedupe_key, event, trace_id, meeting_id, affects_tracking, n)
      JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS p(payload, n) USING (n)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING affects_tracking)
  SELECT count(*) FILTER (WHERE affects_tracking)::int AS pending FROM inserted`;

const LIST_COLUMNS = `id, event, meeting_id, trace_id, status, attempts, last_error, received_at,
  processed_at, run_after`;

@Injectable()
export class WebhookEventQueue implements ClaimableTable, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookEventQueue.name);
  /**
   * TypeORM's own pg pool: the intake statement is prepared once per connection under a name,
   * which spares Postgres planning it for every batch.
   */
  private readonly pool: Pool;
  private worker: QueueWorker | undefined;

  constructor(
    private readonly env: Env,
    private readonly dataSource: DataSource,
    metrics: Metrics,
  ) {
    this.pool = (dataSource.driver as PostgresDriver).master as Pool;
    metrics.gauge('pstn_queue_depth', 'Webhook events waiting to be applied', () => this.depth());
    metrics.gauge('pstn_queue_dead_events', 'Webhook events out of attempts', () =>
      this.countWithStatus('dead'),
    );
    metrics.gauge(
      'pstn_queue_oldest_pending_age_seconds',
      'Age of the oldest webhook event waiting to be applied (0 when none waits)',
      async () => {
        const oldest = await this.oldestPendingAt();
        return oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0;
      },
    );
  }

  // Intake

  /** Stores a batch in one statement; a duplicate dedupe key adds nothing. */
  async insert(events: NewWebhookEvent[]): Promise<void> {
    const { rows } = await this.pool.query<{ pending: number }>({
      name: 'insert-webhook-events',
      text: INSERT_BATCH,
      values: [
        events.map((event) => event.dedupeKey),
        events.map((event) => event.event),
        events.map((event) => event.traceId),
        events.map((event) => event.meetingId),
        events.map((event) => event.affectsTracking),
        `[${events.map((event) => event.plaintext).join(',')}]`,
      ],
    });
    if (rows[0].pending > 0) this.worker?.notify();
  }

  /** Keeps a signed event Postgres cannot hold as jsonb, as text, for an operator to replay. */
  async insertQuarantined(event: QuarantinedWebhookEvent): Promise<void> {
    await this.pool.query(
      `INSERT INTO webhook_events
         (dedupe_key, event, trace_id, meeting_id, affects_tracking, status, raw, last_error)
       VALUES ($1, $2, $3, $4, false, 'quarantined', $5, $6)
       ON CONFLICT (dedupe_key) DO NOTHING`,
      [event.dedupeKey, event.event, event.traceId, event.meetingId, event.raw, event.reason],
    );
  }

  // Worker

  /**
   * Starts this instance's worker: it claims pending events (FOR UPDATE SKIP LOCKED, so replicas
   * never share one), hands them to `handler` inside the claiming transaction, and marks them
   * processed in it; `handler.afterCommit` runs once that transaction has committed.
   */
  work<T>(handler: EventHandler<T>): void {
    this.worker = new QueueWorker(this.dataSource, this, handler, this.logger, {
      batchSize: CLAIM_BATCH,
      pollMs: POLL_MS,
    });
    this.worker.start();
  }

  /** Claims up to `limit` pending events (or the one with `id`) for the caller's transaction. */
  claim(manager: EntityManager, limit: number, id?: string): Promise<ClaimedEvent[]> {
    return manager.query<ClaimedEvent[]>(
      `SELECT id, meeting_id AS "meetingId", payload::text AS payload, raw FROM webhook_events
        WHERE ${PENDING} AND ($2::bigint IS NULL OR id = $2)
        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit, id ?? null],
    );
  }

  async markProcessed(manager: EntityManager, ids: string[]): Promise<void> {
    await manager.query(
      `UPDATE webhook_events
          SET status = 'processed', processed_at = now(), attempts = attempts + 1,
              last_error = NULL
        WHERE id = ANY($1::bigint[])`,
      [ids],
    );
  }

  /** An attempt failed: the event waits for its next one, or is dead once out of attempts. */
  async markFailed(id: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_events
          SET attempts = attempts + 1, last_error = $2,
              status = CASE WHEN attempts + 1 >= $3 THEN 'dead' ELSE 'failed' END,
              run_after = now() + LEAST(2 ^ (attempts + 1), $4) * interval '1 second'
        WHERE id = $1 AND status IN ('received', 'failed')`,
      [id, error, this.env.QUEUE_MAX_ATTEMPTS, MAX_BACKOFF_S],
    );
  }

  // Operators

  /** Stored events, newest first, without their payloads. */
  list(filter: EventFilter, paging: PagingDto): Promise<Page<Record<string, unknown>>> {
    return pagedQuery(
      this.dataSource,
      `SELECT ${LIST_COLUMNS} FROM webhook_events
        WHERE ($1::text IS NULL OR event = $1)
          AND ($2::text IS NULL OR meeting_id = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::timestamptz IS NULL OR received_at >= $4)
          AND ($5::timestamptz IS NULL OR received_at < $5)
        ORDER BY id DESC`,
      [
        filter.event ?? null,
        filter.meetingId ?? null,
        filter.status ?? null,
        filter.from ?? null,
        filter.to ?? null,
      ],
      paging,
    );
  }

  /**
   * One event with its payload as the JSON text Postgres holds (ids beyond 2^53 exact) and its
   * raw text if quarantined; undefined when there is none with this id.
   */
  async get(id: string): Promise<StoredEvent | undefined> {
    const [row] = await this.dataSource.query<StoredEvent[]>(
      `SELECT ${LIST_COLUMNS}, payload::text AS payload, raw FROM webhook_events WHERE id = $1`,
      [id],
    );
    return row;
  }

  /** Events that failed and wait for a retry (`failed`) or ran out of attempts (`dead`). */
  failed(state: FailedState, paging: PagingDto): Promise<Page<Record<string, unknown>>> {
    return pagedQuery(
      this.dataSource,
      `SELECT ${LIST_COLUMNS} FROM webhook_events WHERE status = $1 ORDER BY id DESC`,
      [state],
      paging,
    );
  }

  /**
   * Makes events pending now (a replay, a retry): applying an event twice changes nothing.
   * `from` limits it to events in those states; answers how many were made pending.
   */
  async replay(ids: string[], from?: WebhookEventStatus[]): Promise<number> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `WITH replayed AS (
         UPDATE webhook_events SET status = 'received', run_after = now()
          WHERE id = ANY($1::bigint[]) AND ($2::text[] IS NULL OR status = ANY($2::text[]))
          RETURNING id)
       SELECT id FROM replayed`,
      [ids, from ?? null],
    );
    if (rows.length > 0) this.worker?.notify();
    return rows.length;
  }

  /** Makes every event in these states pending now; answers how many. */
  async replayAll(states: WebhookEventStatus[]): Promise<number> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM webhook_events WHERE status = ANY($1::text[]) ORDER BY id`,
      [states],
    );
    return rows.length === 0
      ? 0
      : this.replay(
          rows.map((row) => row.id),
          states,
        );
  }

  /** Retention: deletes up to `limit` events received before `cutoff`; answers how many. */
  async deleteReceivedBefore(cutoff: Date, limit: number): Promise<number> {
    // DELETE ... RETURNING inside a CTE: TypeORM returns plain rows only for a SELECT.
    const [{ n }] = await this.dataSource.query<{ n: number }[]>(
      `WITH gone AS (
         DELETE FROM webhook_events
          WHERE id IN (SELECT id FROM webhook_events WHERE received_at < $1 LIMIT $2)
          RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [cutoff, limit],
    );
    return n;
  }

  // Counts, for /admin/stats and /metrics

  async countsByStatus(): Promise<Record<string, number>> {
    const rows = await this.dataSource.query<{ status: string; n: number }[]>(
      `SELECT status, count(*)::int AS n FROM webhook_events GROUP BY status`,
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  /** Events waiting to be applied now or at their retry. */
  async depth(): Promise<number> {
    const [{ n }] = await this.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM webhook_events WHERE status IN ('received', 'failed')`,
    );
    return n;
  }

  async countWithStatus(status: WebhookEventStatus): Promise<number> {
    const [{ n }] = await this.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM webhook_events WHERE status = $1`,
      [status],
    );
    return n;
  }

  async oldestPendingAt(): Promise<Date | null> {
    const [{ at }] = await this.dataSource.query<{ at: Date | null }[]>(
      `SELECT min(received_at) AS at FROM webhook_events WHERE status IN ('received', 'failed')`,
    );
    return at;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.stop();
  }
}
