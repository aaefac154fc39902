import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One request of `POST .../phone-callers/actions`: who asked what of which callers, and what
 * came of it. Numbers are kept masked only. A row without `answered_at` is in progress (or its
 * process died); its Idempotency-Key, if any, is taken until then.
 */
@Entity({ name: 'control_actions' })
export class ControlActionRecord {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId: string;

  @Column({ name: 'client_name', type: 'text' })
  clientName: string;

  /** An HMAC of the client's Idempotency-Key, which may hold anything; null once freed. */
  @Column({ name: 'idempotency_key_hash', type: 'text', nullable: true })
  idempotencyKeyHash: string | null;

  /** An HMAC of the request as the service read it: a plain hash of a number is guessable. */
  @Column({ name: 'request_fingerprint', type: 'text', nullable: true })
  requestFingerprint: string | null;

  @Column({ name: 'meeting_id', type: 'text' })
  meetingId: string;

  @Column({ type: 'text' })
  action: string;

  @Column({ name: 'allow_rejoin', type: 'boolean', nullable: true })
  allowRejoin: boolean | null;

  /** The numbers asked, masked (`+86 138****8888`); null when ids were asked. */
  @Column({ name: 'phone_numbers', type: 'text', array: true, nullable: true })
  phoneNumbers: string[] | null;

  /** The callers Tencent was asked to act on. */
  @Column({ name: 'ms_open_ids', type: 'text', array: true })
  msOpenIds: string[];

  @Column({ type: 'jsonb', nullable: true })
  results: unknown;

  /** Every error_code Tencent answered, attempt by attempt. */
  @Column({ name: 'tencent_error_codes', type: 'integer', array: true })
  tencentErrorCodes: number[];

  @Column({ name: 'upstream_attempts', type: 'integer' })
  upstreamAttempts: number;

  /** From the request's arrival to its answer, waiting included. */
  @Column({ name: 'latency_ms', type: 'integer', nullable: true })
  latencyMs: number | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'answered_at', type: 'timestamptz', nullable: true })
  answeredAt: Date | null;
}
