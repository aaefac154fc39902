import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Acting on phone callers: API clients may hold the `control` scope, and every action is kept
 * in control_actions (numbers masked, never in clear), which also holds the clients'
 * Idempotency-Keys (as HMACs: a client may put anything in a key): a key belongs to one
 * client, and is unique among that client's rows.
 */
export class AddPhoneCallerControl1764000600000 implements MigrationInterface {
  name = 'AddPhoneCallerControl1764000600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE api_clients DROP CONSTRAINT api_clients_scopes_known`);
    await queryRunner.query(
      `ALTER TABLE api_clients ADD CONSTRAINT api_clients_scopes_known
         CHECK (scopes <@ ARRAY['lookup', 'admin', 'control']::text[])`,
    );
    await queryRunner.query(`
      CREATE TABLE control_actions (
        id                  bigserial PRIMARY KEY,
        client_id           text NOT NULL,
        client_name         text NOT NULL,
        idempotency_key_hash text,
        request_fingerprint text,
        meeting_id          text NOT NULL,
        action              text NOT NULL CHECK (action IN ('mute', 'unmute', 'kick', 'rename')),
        allow_rejoin        boolean,
        phone_numbers       text[],
        ms_open_ids         text[] NOT NULL DEFAULT '{}',
        results             jsonb,
        tencent_error_codes integer[] NOT NULL DEFAULT '{}',
        upstream_attempts   integer NOT NULL DEFAULT 0,
        latency_ms          integer,
        created_at          timestamptz NOT NULL DEFAULT now(),
        answered_at         timestamptz
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX control_actions_idempotency_key_hash_unique
         ON control_actions (client_id, idempotency_key_hash)
         WHERE idempotency_key_hash IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX control_actions_meeting_idx ON control_actions (meeting_id, id)`,
    );
    await queryRunner.query(
      `CREATE INDEX control_actions_created_at_idx ON control_actions (created_at)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE control_actions`);
    await queryRunner.query(`UPDATE api_clients SET scopes = array_remove(scopes, 'control')`);
    await queryRunner.query(`ALTER TABLE api_clients DROP CONSTRAINT api_clients_scopes_known`);
    await queryRunner.query(
      `ALTER TABLE api_clients ADD CONSTRAINT api_clients_scopes_known
         CHECK (scopes <@ ARRAY['lookup', 'admin']::text[])`,
    );
  }
}
