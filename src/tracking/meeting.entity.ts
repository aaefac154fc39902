import { Column, Entity, PrimaryColumn } from 'typeorm';

export const MEETING_STATUSES = ['unknown', 'started', 'ended', 'canceled'] as const;
export type MeetingStatus = (typeof MEETING_STATUSES)[number];

/**
 * The one rule of "a meeting is open": started, or known only through its callers (`unknown`).
 * A meeting never seen is open too: a caller may connect any moment.
 */
export function isOpenMeeting(status: string | undefined): boolean {
  return status === undefined || status === 'unknown' || status === 'started';
}

/** The same rule in SQL, for the column that holds a meeting's status. */
export function openMeetingSql(column: string): string {
  return `${column} IN ('unknown', 'started')`;
}

@Entity({ name: 'meetings' })
export class Meeting {
  /** Tencent's meeting id: a string, it exceeds 2^53. */
  @PrimaryColumn({ name: 'meeting_id', type: 'text' })
  meetingId: string;

  @Column({ name: 'meeting_code', type: 'text', nullable: true })
  meetingCode: string | null;

  @Column({ type: 'text', nullable: true })
  subject: string | null;

  @Column({ name: 'creator_userid', type: 'text', nullable: true })
  creatorUserId: string | null;

  /** `unknown` until a lifecycle event arrives (participants may be seen first). */
  @Column({ type: 'text', default: 'unknown' })
  status: MeetingStatus;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt: Date | null;

  /** When the last webhook event about the meeting arrived. */
  @Column({ name: 'last_event_at', type: 'timestamptz' })
  lastEventAt: Date;

  /** When Tencent's live roster of the meeting was last read and applied. */
  @Column({ name: 'roster_read_at', type: 'timestamptz', nullable: true })
  rosterReadAt: Date | null;

  /** The roster must be read again from then: a repair waits out its grace, or a read failed. */
  @Column({ name: 'roster_due_at', type: 'timestamptz', nullable: true })
  rosterDueAt: Date | null;

  /** Roster reads that failed in a row, for the backoff. */
  @Column({ name: 'roster_failures', type: 'int', default: 0 })
  rosterFailures: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
