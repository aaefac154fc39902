import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** (meeting, ms_open_id) -> phone number, as Tencent answered it. One number may have many ids. */
@Entity({ name: 'ms_open_id_mappings' })
export class MsOpenIdMapping {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'meeting_id', type: 'text' })
  meetingId: string;

  @Column({ name: 'ms_open_id', type: 'text' })
  msOpenId: string;

  @Column({ type: 'text' })
  area: string;

  @Column({ name: 'phone_number', type: 'text' })
  phoneNumber: string;

  @Column({ name: 'resolved_at', type: 'timestamptz' })
  resolvedAt: Date;
}
