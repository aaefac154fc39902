import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keeping up with intake costs less:
 * - `affects_tracking`, set at intake, spares the queue worker reading events that cannot
 *   change meetings or phone callers (rows stored before it say true: they are read as before).
 * - Each event row is rewritten once, when it is processed. With no index on `status` and free
 *   room on every page, that rewrite is a HOT update: it stays on its page and touches none of
 *   the table's indexes. Queries by status scan by time or id instead (see the webhook sweep).
 */
export class CheaperWebhookEventProcessing1764000300000 implements MigrationInterface {
  name = 'CheaperWebhookEventProcessing1764000300000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE webhook_events ADD COLUMN affects_tracking boolean NOT NULL DEFAULT true`,
    );
    await queryRunner.query(`DROP INDEX webhook_events_status_idx`);
    await queryRunner.query(`ALTER TABLE webhook_events SET (fillfactor = 50)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE webhook_events RESET (fillfactor)`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_status_idx ON webhook_events (status, received_at)`,
    );
    await queryRunner.query(`ALTER TABLE webhook_events DROP COLUMN affects_tracking`);
  }
}
