import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type ParticipantStatus = 'connected' | 'left';

/** One phone caller in one meeting, by the ms_open_id Tencent gave that call. */
@Entity({ name: 'pstn_participants' })
export class PstnParticipant {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'meeting_id', type: 'text' })
  meetingId: string;

  @Column({ name: 'ms_open_id', type: 'text' })
  msOpenId: string;

  /** As the webhook gave it; its format is not pinned down by Tencent. */
  @Column({ name: 'pstn_number', type: 'text', nullable: true })
  pstnNumber: string | null;

  @Column({ type: 'text' })
  status: ParticipantStatus;

  @Column({ name: 'joined_at', type: 'timestamptz', nullable: true })
  joinedAt: Date | null;

  @Column({ name: 'left_at', type: 'timestamptz', nullable: true })
  leftAt: Date | null;

  /** operate_time of the newest event applied; an older event never overrides it. */
  @Column({ name: 'last_operate_time', type: 'timestamptz' })
  lastOperateTime: Date;

  /** When a read of Tencent's roster first lacked this caller while it was connected here. */
  @Column({ name: 'missing_since', type: 'timestamptz', nullable: true })
  missingSince: Date | null;
}
