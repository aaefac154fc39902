import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One row: when a replica was last alive, and the latest downtime a starting replica found. */
@Entity({ name: 'service_heartbeat' })
export class ServiceHeartbeatRow {
  @PrimaryColumn({ type: 'boolean', default: true })
  id: boolean;

  @Column({ name: 'alive_at', type: 'timestamptz' })
  aliveAt: Date;

  /** The last beat before the downtime. */
  @Column({ name: 'down_from', type: 'timestamptz', nullable: true })
  downFrom: Date | null;

  /** When a replica started again after it. */
  @Column({ name: 'down_until', type: 'timestamptz', nullable: true })
  downUntil: Date | null;
}
