import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Repairing phone callers from Tencent's live roster, for what webhooks lost:
 * - `pstn_events.source`: a row is a webhook item's (`webhook`, pointing at its event) or a
 *   repair's (`reconciliation`, pointing at none). A repair is one row per meeting, kind, caller
 *   and time, so a repair made twice is logged once.
 * - `meetings.roster_read_at` / `roster_due_at` / `roster_failures`: when the roster was last
 *   read, when it must be read again (a repair waiting out its grace, or a failed read's
 *   backoff), and how many reads in a row failed.
 * - `pstn_participants.missing_since`: when a read first lacked a caller the service holds
 *   connected; the caller is marked left once a read a grace period later still lacks it.
 * - `service_heartbeat`: one row, refreshed by every running replica, so that a replica
 *   starting after no replica was alive for a while knows when the deployment was down.
 */
export class RecordRosterRepairs1764000700000 implements MigrationInterface {
  name = 'RecordRosterRepairs1764000700000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE pstn_events ADD COLUMN source text NOT NULL DEFAULT 'webhook'
         CHECK (source IN ('webhook', 'reconciliation'))`,
    );
    await queryRunner.query(`ALTER TABLE pstn_events ALTER COLUMN webhook_event_id DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE pstn_events ALTER COLUMN item_index DROP NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE pstn_events ADD CONSTRAINT pstn_events_origin CHECK (
         CASE source
           WHEN 'webhook' THEN webhook_event_id IS NOT NULL AND item_index IS NOT NULL
           ELSE webhook_event_id IS NULL AND item_index IS NULL
         END)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX pstn_events_repair_unique
         ON pstn_events (meeting_id, kind, ms_open_id, operate_time) NULLS NOT DISTINCT
         WHERE source = 'reconciliation'`,
    );
    await queryRunner.query(
      `ALTER TABLE meetings
         ADD COLUMN roster_read_at timestamptz,
         ADD COLUMN roster_due_at timestamptz,
         ADD COLUMN roster_failures integer NOT NULL DEFAULT 0`,
    );
    await queryRunner.query(`ALTER TABLE pstn_participants ADD COLUMN missing_since timestamptz`);
    await queryRunner.query(`
      CREATE TABLE service_heartbeat (
        id         boolean PRIMARY KEY DEFAULT true CHECK (id),
        alive_at   timestamptz NOT NULL DEFAULT now(),
        down_from  timestamptz,
        down_until timestamptz
      )`);
    await queryRunner.query(`INSERT INTO service_heartbeat DEFAULT VALUES`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE service_heartbeat`);
    await queryRunner.query(`ALTER TABLE pstn_participants DROP COLUMN missing_since`);
    await queryRunner.query(
      `ALTER TABLE meetings
         DROP COLUMN roster_read_at, DROP COLUMN roster_due_at, DROP COLUMN roster_failures`,
    );
    await queryRunner.query(`DELETE FROM pstn_events WHERE source = 'reconciliation'`);
    await queryRunner.query(`DROP INDEX pstn_events_repair_unique`);
    await queryRunner.query(`ALTER TABLE pstn_events DROP CONSTRAINT pstn_events_origin`);
    await queryRunner.query(`ALTER TABLE pstn_events ALTER COLUMN item_index SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE pstn_events ALTER COLUMN webhook_event_id SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE pstn_events DROP COLUMN source`);
  }
}
