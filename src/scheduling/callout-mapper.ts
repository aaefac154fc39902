import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ResolutionStore } from '../resolution/resolution.store';
import { ChangeFeed } from '../change-feed/change-feed';
import { CalloutListClient } from '../tencent/callout-list.client';

/**
 * Learns from a meeting's callout list: every called number becomes tracked (source `callout`),
 * so the resolver asks about it, and a call that already has an ms_open_id is mapped at once.
 */
@Injectable()
export class CalloutMapper {
  constructor(
    private readonly client: CalloutListClient,
    private readonly dataSource: DataSource,
    private readonly store: ResolutionStore,
    private readonly feed: ChangeFeed,
  ) {}

  /** Returns how many mappings were new. */
  async map(meetingId: string): Promise<number> {
    const entries = await this.client.list(meetingId);
    if (entries.length === 0) return 0;
    await this.dataSource.query(
      `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source)
       SELECT $1, *, 'callout' FROM unnest($2::text[], $3::text[])
       ON CONFLICT DO NOTHING`,
      [meetingId, entries.map((e) => e.area), entries.map((e) => e.phoneNumber)],
    );
    const withIds = entries.flatMap(({ area, phoneNumber, msOpenId }) =>
      msOpenId ? [{ area, phoneNumber, msOpenId }] : [],
    );
    const added = await this.store.saveMappings(meetingId, entries, withIds);
    await this.feed.publish(
      added.map((mapping) => ({ type: 'participant.resolved' as const, meetingId, ...mapping })),
    );
    return added.length;
  }
}
