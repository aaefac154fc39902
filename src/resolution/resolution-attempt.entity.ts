import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One upstream ms-open-id call: how many numbers (never which), the outcome and its latency. */
@Entity({ name: 'resolution_attempts' })
export class ResolutionAttempt {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'meeting_id', type: 'text' })
  meetingId: string;

  @Column({ name: 'numbers_asked', type: 'int' })
  numbersAsked: number;

  @Column({ name: 'ids_returned', type: 'int' })
  idsReturned: number;

  /** `ok`, `timeout`, `network_error`, `http_error`, `tencent_error`, `circuit_open`. */
  @Column({ type: 'text' })
  outcome: string;

  @Column({ name: 'http_status', type: 'int', nullable: true })
  httpStatus: number | null;

  @Column({ name: 'error_code', type: 'int', nullable: true })
  errorCode: number | null;

  @Column({ name: 'new_error_code', type: 'int', nullable: true })
  newErrorCode: number | null;

  @Column({ name: 'latency_ms', type: 'int' })
  latencyMs: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
