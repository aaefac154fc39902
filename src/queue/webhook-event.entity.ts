import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** See the migration that made the table the queue for what each state means. */
export type WebhookEventStatus = 'received' | 'processed' | 'failed' | 'dead' | 'quarantined';

/** One delivered Tencent Meeting event, decoded, exactly once per dedupe key. */
@Entity({ name: 'webhook_events' })
export class WebhookEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** `trace_id`, else `unique_sequence`, else a hash of the raw `data`. */
  @Column({ name: 'dedupe_key', type: 'text', unique: true })
  dedupeKey: string;

  @Column({ type: 'text' })
  event: string;

  @Column({ name: 'trace_id', type: 'text', nullable: true })
  traceId: string | null;

  @Column({ name: 'meeting_id', type: 'text', nullable: true })
  meetingId: string | null;

  /** The decoded JSON exactly as Tencent sent it; null for a quarantined event. */
  @Column({ type: 'jsonb', nullable: true })
  payload: unknown;

  /** What a quarantined event holds instead: its plaintext, or the `data` that did not decode. */
  @Column({ type: 'text', nullable: true })
  raw: string | null;

  /** False when the event cannot change meetings or phone callers: the worker only marks it. */
  @Column({ name: 'affects_tracking', type: 'boolean', default: true })
  affectsTracking: boolean;

  @Column({ type: 'text', default: 'received' })
  status: WebhookEventStatus;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** When a `received` or `failed` event may be claimed next. */
  @Column({ name: 'run_after', type: 'timestamptz', default: () => 'now()' })
  runAfter: Date;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @Column({ name: 'processed_at', type: 'timestamptz', nullable: true })
  processedAt: Date | null;
}
