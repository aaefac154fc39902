import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type TrackedNumberSource = 'api' | 'webhook' | 'callout';

/** A phone number whose ms_open_id is wanted in a meeting. Digits only, kept as strings. */
@Entity({ name: 'tracked_numbers' })
export class TrackedNumber {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'meeting_id', type: 'text' })
  meetingId: string;

  @Column({ type: 'text' })
  area: string;

  @Column({ name: 'phone_number', type: 'text' })
  phoneNumber: string;

  @Column({ type: 'text' })
  source: TrackedNumberSource;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'first_resolved_at', type: 'timestamptz', nullable: true })
  firstResolvedAt: Date | null;

  @Column({ name: 'last_resolved_at', type: 'timestamptz', nullable: true })
  lastResolvedAt: Date | null;

  /** When the number was last asked of Tencent. */
  @Column({ name: 'last_asked_at', type: 'timestamptz', nullable: true })
  lastAskedAt: Date | null;
}
