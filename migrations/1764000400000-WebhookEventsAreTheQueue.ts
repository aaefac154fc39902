import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A stored webhook event is its own processing job: `status`, `attempts`, `run_after` and
 * `last_error` are the queue, claimed with FOR UPDATE SKIP LOCKED, so there is no second record
 * of an event's state to keep in step (and no sweep to reconcile the two).
 * - `received` waits to be applied (or was replayed), `failed` waits for its retry at
 *   `run_after`, `dead` ran out of attempts, `processed` is done; events that cannot change
 *   tracking are stored `processed`.
 * - `quarantined`: a signed event Postgres cannot hold as jsonb (or could not decode) is kept as
 *   text in `raw`, with the reason in `last_error`, until an operator replays it.
 * - Only unsettled rows are indexed, so marking an event processed leaves the index small.
 * Events an earlier version left unprocessed are `received` or `failed` and are claimed as they
 * are; the earlier job library's `pgboss` schema is no longer read and can be dropped.
 */
export class WebhookEventsAreTheQueue1764000400000 implements MigrationInterface {
  name = 'WebhookEventsAreTheQueue1764000400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS webhook_events_status_check`,
    );
    await queryRunner.query(
      `ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_status_check
         CHECK (status IN ('received', 'processed', 'failed', 'dead', 'quarantined'))`,
    );
    await queryRunner.query(
      `ALTER TABLE webhook_events ADD COLUMN run_after timestamptz NOT NULL DEFAULT now()`,
    );
    await queryRunner.query(`ALTER TABLE webhook_events ADD COLUMN raw text`);
    await queryRunner.query(`ALTER TABLE webhook_events ALTER COLUMN payload DROP NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_payload_or_raw
         CHECK (payload IS NOT NULL OR raw IS NOT NULL)`,
    );
    await queryRunner.query(
      `CREATE INDEX webhook_events_unsettled_idx ON webhook_events (status, id)
        WHERE status <> 'processed'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX webhook_events_unsettled_idx`);
    await queryRunner.query(`DELETE FROM webhook_events WHERE payload IS NULL`);
    await queryRunner.query(
      `ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_payload_or_raw`,
    );
    await queryRunner.query(`ALTER TABLE webhook_events ALTER COLUMN payload SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE webhook_events DROP COLUMN raw`);
    await queryRunner.query(`ALTER TABLE webhook_events DROP COLUMN run_after`);
    await queryRunner.query(
      `UPDATE webhook_events SET status = 'failed' WHERE status IN ('dead', 'quarantined')`,
    );
    await queryRunner.query(
      `ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_status_check`,
    );
    await queryRunner.query(
      `ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_status_check
         CHECK (status IN ('received', 'processed', 'failed'))`,
    );
  }
}
