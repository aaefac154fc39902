import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tracked numbers cost upstream calls, so they are bounded: `last_asked_at` lets a follow-up
 * round skip a number Tencent already answered nothing for after the newest caller's call had
 * settled, and the created_at index lets retention delete old ones.
 */
export class BoundTrackedNumbers1764000500000 implements MigrationInterface {
  name = 'BoundTrackedNumbers1764000500000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE tracked_numbers ADD COLUMN last_asked_at timestamptz`);
    await queryRunner.query(
      `CREATE INDEX tracked_numbers_created_at_idx ON tracked_numbers (created_at)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX tracked_numbers_created_at_idx`);
    await queryRunner.query(`ALTER TABLE tracked_numbers DROP COLUMN last_asked_at`);
  }
}
