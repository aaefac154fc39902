import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type PstnEventSource = 'webhook' | 'reconciliation';

/**
 * The dial-in and callout log: one row per phone item of a webhook event, and one per repair
 * made from Tencent's roster (those point at no webhook event).
 */
@Entity({ name: 'pstn_events' })
export class PstnEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'webhook_event_id', type: 'bigint', nullable: true })
  webhookEventId: string | null;

  @Column({ name: 'item_index', type: 'int', nullable: true })
  itemIndex: number | null;

  @Column({ type: 'text', default: 'webhook' })
  source: PstnEventSource;

  @Column({ name: 'meeting_id', type: 'text' })
  meetingId: string;

  /** `joined`, `left` or `callout`; a repair's `joined`, `left` or `ended`. */
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
