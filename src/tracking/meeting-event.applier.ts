import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TrackingChange } from '../change-feed/tracking-change';
import { Env } from '../config/env.schema';
import { parseInternationalNumber } from '../tencent/phone-number';
import { kindOf } from '../webhook/item-kind';
import type { TencentEvent, TencentEventItem } from '../webhook/tencent-event.parser';
import { isOpenMeeting, openMeetingSql } from './meeting.entity';
import type { TrackedNumberSource } from './tracked-number.entity';

interface ItemContext {
  manager: EntityManager;
  webhookEventId: string;
  index: number;
  meetingId: string;
  item: TencentEventItem;
  at: Date;
  changes: TrackingChange[];
}

/** One phone caller's change, from a webhook item or from Tencent's roster. */
interface CallerChange {
  manager: EntityManager;
  meetingId: string;
  msOpenId: string;
  pstnNumber: string | null;
  at: Date;
  changes: TrackingChange[];
}

/**
 * What Tencent's live roster says that the service missed: a caller it lists (joined at `at`),
 * a caller it no longer lists (gone by `at`), or the meeting's end.
 */
export type RosterRepair =
  { kind: 'joined' | 'left'; msOpenId: string; at: Date } | { kind: 'ended'; at: Date };

/**
 * Applies a stored webhook event, or a repair from Tencent's roster, to meetings, phone callers
 * and the phone event log. Every rule is idempotent and order-independent: an item older than
 * what a caller's row already reflects (by operate_time) changes nothing, and the log has one
 * row per (event, item) and one per repair.
 */
@Injectable()
export class MeetingEventApplier {
  private readonly trackWebhookNumbers: boolean;

  constructor(env: Env) {
    this.trackWebhookNumbers = env.TRACK_WEBHOOK_PSTN_NUMBERS;
  }

  /** Runs inside the caller's transaction; returns what changed. */
  async apply(
    manager: EntityManager,
    webhookEventId: string,
    event: TencentEvent,
  ): Promise<TrackingChange[]> {
    const changes: TrackingChange[] = [];
    for (const [index, item] of event.items.entries()) {
      const kind = kindOf(event.event, item);
      const meetingId = item.meeting.meetingId;
      if (!kind || !meetingId) continue;
      const at = item.operateTime ?? new Date();
      const context = { manager, webhookEventId, index, meetingId, item, changes, at };
      const meetingClosed = await this.upsertMeeting(context);
      switch (kind) {
        case 'started':
          await this.start(context);
          break;
        case 'ended':
        case 'canceled':
          changes.push(...(await this.endMeeting(manager, meetingId, kind, at)));
          break;
        case 'joined':
          await this.logPhoneEvent(context, 'joined');
          await this.trackNumber(context, 'webhook');
          await this.join(callerOf(context), meetingClosed);
          break;
        case 'left':
          await this.logPhoneEvent(context, 'left');
          await this.leave(callerOf(context));
          break;
        case 'callout':
          await this.callout(context, meetingClosed);
          break;
      }
    }
    return changes;
  }

  /**
   * Applies a repair from Tencent's roster with the statements webhook items use, so the same
   * rules hold (an older repair never undoes a newer event, and a leave wins a tie), and logs it
   * as reconciliation's when it changed something. Runs inside the caller's transaction, which
   * holds the open meeting's row locked; returns what changed.
   */
  async repair(
    manager: EntityManager,
    meetingId: string,
    repair: RosterRepair,
  ): Promise<TrackingChange[]> {
    const changes: TrackingChange[] = [];
    if (repair.kind === 'ended') {
      changes.push(...(await this.endMeeting(manager, meetingId, 'ended', repair.at)));
    } else {
      const { kind, msOpenId, at } = repair;
      const caller = { manager, meetingId, msOpenId, pstnNumber: null, at, changes };
      if (kind === 'joined') await this.join(caller, false);
      else await this.leave(caller);
    }
    if (changes.length > 0) {
      await manager.query(
        `INSERT INTO pstn_events (source, meeting_id, kind, ms_open_id, operate_time)
         VALUES ('reconciliation', $1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [meetingId, repair.kind, repair.kind === 'ended' ? null : repair.msOpenId, repair.at],
      );
    }
    return changes;
  }

  /** Creates or refreshes the meeting row (locking it for this transaction); true if it ended. */
  private async upsertMeeting({ manager, meetingId, item }: ItemContext): Promise<boolean> {
    const [row] = await manager.query<{ status: string }[]>(
      `INSERT INTO meetings (meeting_id, meeting_code, subject, creator_userid)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (meeting_id) DO UPDATE SET
         meeting_code   = COALESCE(EXCLUDED.meeting_code, meetings.meeting_code),
         subject        = COALESCE(EXCLUDED.subject, meetings.subject),
         creator_userid = COALESCE(EXCLUDED.creator_userid, meetings.creator_userid),
         last_event_at  = now()
       RETURNING status`,
      [meetingId, item.meeting.meetingCode, item.meeting.subject, item.meeting.creatorUserId],
    );
    return !isOpenMeeting(row.status);
  }

  private async start({ manager, meetingId, item, at }: ItemContext): Promise<void> {
    await manager.query(
      `UPDATE meetings SET status = 'started', started_at = COALESCE(started_at, $2)
        WHERE meeting_id = $1 AND status = 'unknown'`,
      [meetingId, item.meeting.startTime ?? at],
    );
  }

  /**
   * The meeting's end closes every still-connected phone caller. Runs inside the caller's
   * transaction (the stale-meeting job ends meetings this way too); returns what changed.
   */
  async endMeeting(
    manager: EntityManager,
    meetingId: string,
    status: 'ended' | 'canceled',
    at: Date,
  ): Promise<TrackingChange[]> {
    // UPDATE ... RETURNING inside a CTE: TypeORM returns plain rows only for a SELECT.
    const ended = await manager.query<unknown[]>(
      `WITH ended AS (
         UPDATE meetings SET status = $2, ended_at = $3
          WHERE meeting_id = $1 AND ${openMeetingSql('status')}
          RETURNING meeting_id)
       SELECT * FROM ended`,
      [meetingId, status, at],
    );
    if (ended.length === 0) return [];
    const closed = await manager.query<{ ms_open_id: string }[]>(
      `WITH closed AS (
         UPDATE pstn_participants
            SET status = 'left', left_at = $2, last_operate_time = GREATEST(last_operate_time, $2)
          WHERE meeting_id = $1 AND status = 'connected'
          RETURNING ms_open_id)
       SELECT * FROM closed`,
      [meetingId, at],
    );
    const changes: TrackingChange[] = [];
    for (const { ms_open_id } of closed) {
      changes.push({ type: 'participant.left', meetingId, msOpenId: ms_open_id });
    }
    changes.push({ type: 'meeting.ended', meetingId });
    return changes;
  }

  private async join(caller: CallerChange, meetingClosed: boolean): Promise<void> {
    const { manager, meetingId, msOpenId, pstnNumber, at, changes } = caller;
    // A join delivered after the meeting ended is recorded, but as a caller who has left.
    const status = meetingClosed ? 'left' : 'connected';
    const applied = await manager.query<unknown[]>(
      `INSERT INTO pstn_participants
         (meeting_id, ms_open_id, pstn_number, status, joined_at, left_at, last_operate_time)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $4 = 'left' THEN $5::timestamptz END, $5)
       ON CONFLICT (meeting_id, ms_open_id) DO UPDATE SET
         status = EXCLUDED.status, joined_at = EXCLUDED.joined_at, left_at = EXCLUDED.left_at,
         last_operate_time = EXCLUDED.last_operate_time,
         pstn_number = COALESCE(EXCLUDED.pstn_number, pstn_participants.pstn_number)
       WHERE pstn_participants.last_operate_time < EXCLUDED.last_operate_time
       RETURNING id`,
      [meetingId, msOpenId, pstnNumber, status, at],
    );
    if (applied.length === 0 || meetingClosed) return;
    changes.push({ type: 'participant.joined', meetingId, msOpenId });
    changes.push({ type: 'phone.connected', meetingId });
  }

  private async leave(caller: CallerChange): Promise<void> {
    const { manager, meetingId, msOpenId, pstnNumber, at, changes } = caller;
    const applied = await manager.query<{ was_connected: boolean }[]>(
      `INSERT INTO pstn_participants
         (meeting_id, ms_open_id, pstn_number, status, left_at, last_operate_time)
       VALUES ($1, $2, $3, 'left', $4, $4)
       ON CONFLICT (meeting_id, ms_open_id) DO UPDATE SET
         status = 'left', left_at = EXCLUDED.left_at,
         last_operate_time = EXCLUDED.last_operate_time,
         pstn_number = COALESCE(EXCLUDED.pstn_number, pstn_participants.pstn_number)
       WHERE pstn_participants.status = 'connected'
         AND pstn_participants.last_operate_time <= EXCLUDED.last_operate_time
       RETURNING id`,
      [meetingId, msOpenId, pstnNumber, at],
    );
    if (applied.length > 0) changes.push({ type: 'participant.left', meetingId, msOpenId });
  }

  /**
   * Outbound call status: answered (START_ACCEPT) means connected, hung up (LEAVE_*) means left,
   * both only when the callout carries the caller's ms_open_id; the rest is logged.
   */
  private async callout(context: ItemContext, meetingClosed: boolean): Promise<void> {
    const { item, meetingId, changes } = context;
    await this.logPhoneEvent(context, 'callout');
    await this.trackNumber(context, 'callout');
    const status = item.phoneStatus;
    if (status === 'START_ACCEPT') {
      if (item.operator.msOpenId) await this.join(callerOf(context), meetingClosed);
      else if (!meetingClosed) changes.push({ type: 'phone.connected', meetingId });
    } else if (status?.startsWith('LEAVE_') && item.operator.msOpenId) {
      await this.leave(callerOf(context));
    }
  }

  private async logPhoneEvent(
    { manager, webhookEventId, index, meetingId, item, at }: ItemContext,
    kind: 'joined' | 'left' | 'callout',
  ): Promise<void> {
    await manager.query(
      `INSERT INTO pstn_events
         (webhook_event_id, item_index, meeting_id, kind, ms_open_id, phone_status, operate_time)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (webhook_event_id, item_index) DO NOTHING`,
      [webhookEventId, index, meetingId, kind, item.operator.msOpenId, item.phoneStatus, at],
    );
  }

  private async trackNumber(
    { manager, meetingId, item }: ItemContext,
    source: TrackedNumberSource,
  ): Promise<void> {
    if (!this.trackWebhookNumbers) return;
    const number = parseInternationalNumber(item.operator.pstnNumber);
    if (!number) return;
    await manager.query(
      `INSERT INTO tracked_numbers (meeting_id, area, phone_number, source)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [meetingId, number.area, number.phoneNumber, source],
    );
  }
}

/** The caller an item is about; only items with an ms_open_id reach a caller's rules. */
function callerOf({ manager, meetingId, item, at, changes }: ItemContext): CallerChange {
  const { msOpenId, pstnNumber } = item.operator;
  return { manager, meetingId, msOpenId: msOpenId as string, pstnNumber, at, changes };
}
