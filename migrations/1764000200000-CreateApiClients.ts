import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateApiClients1764000200000 implements MigrationInterface {
  name = 'CreateApiClients1764000200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_clients (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name         text NOT NULL,
        token_hash   text NOT NULL,
        scopes       text[] NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        revoked_at   timestamptz,
        last_used_at timestamptz,
        CONSTRAINT api_clients_token_hash_unique UNIQUE (token_hash),
        CONSTRAINT api_clients_scopes_known CHECK (scopes <@ ARRAY['lookup', 'admin']::text[])
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_clients`);
  }
}
