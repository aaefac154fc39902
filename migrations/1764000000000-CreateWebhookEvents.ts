import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateWebhookEvents1764000000000 implements MigrationInterface {
  name = 'CreateWebhookEvents1764000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_events (
        id           bigserial PRIMARY KEY,
        dedupe_key   text NOT NULL,
        event        text NOT NULL,
        trace_id     text,
        meeting_id   text,
        payload      jsonb NOT NULL,
        status       text NOT NULL DEFAULT 'received'
                     CHECK (status IN ('received', 'processed', 'failed')),
        attempts     integer NOT NULL DEFAULT 0,
        last_error   text,
        received_at  timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        CONSTRAINT webhook_events_dedupe_key_unique UNIQUE (dedupe_key)
      )`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_meeting_id_idx ON webhook_events (meeting_id, received_at)`,
    );
    await queryRunner.query(
      `CREATE INDEX webhook_events_status_idx ON webhook_events (status, received_at)`,
    );
    await queryRunner.query(
      `CREATE INDEX webhook_events_received_at_idx ON webhook_events (received_at)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE webhook_events`);
  }
}
