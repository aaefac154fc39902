import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePstnTracking1764000100000 implements MigrationInterface {
  name = 'CreatePstnTracking1764000100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE meetings (
        meeting_id     text PRIMARY KEY,
        meeting_code   text,
        subject        text,
        creator_userid text,
        status         text NOT NULL DEFAULT 'unknown'
                       CHECK (status IN ('unknown', 'started', 'ended', 'canceled')),
        started_at     timestamptz,
        ended_at       timestamptz,
        last_event_at  timestamptz NOT NULL DEFAULT now(),
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX meetings_status_idx ON meetings (status, last_event_at)`);

    await queryRunner.query(`
      CREATE TABLE pstn_participants (
        id                bigserial PRIMARY KEY,
        meeting_id        text NOT NULL REFERENCES meetings (meeting_id) ON DELETE CASCADE,
        ms_open_id        text NOT NULL,
        pstn_number       text,
        status            text NOT NULL CHECK (status IN ('connected', 'left')),
        joined_at         timestamptz,
        left_at           timestamptz,
        last_operate_time timestamptz NOT NULL,
        CONSTRAINT pstn_participants_meeting_ms_open_id_unique UNIQUE (meeting_id, ms_open_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX pstn_participants_connected_idx ON pstn_participants (meeting_id) WHERE status = 'connected'`,
    );

    await queryRunner.query(`
      CREATE TABLE pstn_events (
        id               bigserial PRIMARY KEY,
        webhook_event_id bigint NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
        item_index       integer NOT NULL,
        meeting_id       text NOT NULL,
        kind             text NOT NULL,
        ms_open_id       text,
        phone_status     text,
        operate_time     timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pstn_events_item_unique UNIQUE (webhook_event_id, item_index)
      )`);
    await queryRunner.query(`CREATE INDEX pstn_events_meeting_idx ON pstn_events (meeting_id, id)`);
    await queryRunner.query(`CREATE INDEX pstn_events_created_at_idx ON pstn_events (created_at)`);

    await queryRunner.query(`
      CREATE TABLE tracked_numbers (
        id                bigserial PRIMARY KEY,
        meeting_id        text NOT NULL,
        area              text NOT NULL,
        phone_number      text NOT NULL,
        source            text NOT NULL CHECK (source IN ('api', 'webhook', 'callout')),
        created_at        timestamptz NOT NULL DEFAULT now(),
        first_resolved_at timestamptz,
        last_resolved_at  timestamptz,
        CONSTRAINT tracked_numbers_unique UNIQUE (meeting_id, area, phone_number)
      )`);

    await queryRunner.query(`
      CREATE TABLE ms_open_id_mappings (
        id           bigserial PRIMARY KEY,
        meeting_id   text NOT NULL,
        ms_open_id   text NOT NULL,
        area         text NOT NULL,
        phone_number text NOT NULL,
        resolved_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ms_open_id_mappings_unique UNIQUE (meeting_id, ms_open_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX ms_open_id_mappings_number_idx ON ms_open_id_mappings (meeting_id, area, phone_number)`,
    );

    await queryRunner.query(`
      CREATE TABLE resolution_attempts (
        id             bigserial PRIMARY KEY,
        meeting_id     text NOT NULL,
        numbers_asked  integer NOT NULL,
        ids_returned   integer NOT NULL DEFAULT 0,
        outcome        text NOT NULL,
        http_status    integer,
        error_code     integer,
        new_error_code integer,
        latency_ms     integer NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX resolution_attempts_meeting_idx ON resolution_attempts (meeting_id, created_at)`,
    );
    await queryRunner.query(
      `CREATE INDEX resolution_attempts_created_at_idx ON resolution_attempts (created_at)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE resolution_attempts`);
    await queryRunner.query(`DROP TABLE ms_open_id_mappings`);
    await queryRunner.query(`DROP TABLE tracked_numbers`);
    await queryRunner.query(`DROP TABLE pstn_events`);
    await queryRunner.query(`DROP TABLE pstn_participants`);
    await queryRunner.query(`DROP TABLE meetings`);
  }
}
