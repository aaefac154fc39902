import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** The dial-in and callout log: one row per phone item of a webhook event. */
@Entity({ name: 'pstn_events' })
export class PstnEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'webhook_event_id', type: 'bigint' })
  webhookEventId: string;

  @Column({ name: 'item_index', type: 'int' })
  itemIndex: number;

  @Column({ name: 'meeting_id', type: 'text' })
  meetingId: string;

  /** `joined`, `left` or `callout`. */
  @Column({ type: 'text' })
  kind: string;

  @Column({ name: 'ms_open_id', type: 'text', nullable: true })
  msOpenId: string | null;

  @Column({ name: 'phone_status', type: 'text', nullable: true })
  phoneStatus: string | null;

  @Column({ name: 'operate_time', type: 'timestamptz', nullable: true })
  operateTime: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
