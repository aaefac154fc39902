import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import {
  RosterReconciler,
  RosterUnreadableError,
  type RosterRead,
} from '../reconciliation/roster-reconciler';
import { MeetingsAdminService } from './meetings-admin.service';
import { MEETING_NOT_OPEN } from './meeting-answers';

/** An operator's read of a meeting's live roster, and the repairs it made. */
@Injectable()
export class RosterAdminService {
  constructor(
    private readonly meetings: MeetingsAdminService,
    private readonly reconciler: RosterReconciler,
  ) {}

  async reconcile(meetingId: string) {
    await this.meetings.assertExists(meetingId);
    let read: RosterRead | null;
    try {
      read = await this.reconciler.reconcile(meetingId);
    } catch (error) {
      if (error instanceof RosterUnreadableError) {
        throw new ApiError(502, 'roster_unavailable', `${error.message}; it is read again later`, {
          cause: error,
        });
      }
      throw error;
    }
    if (!read) {
      throw ApiError.of(409, MEETING_NOT_OPEN);
    }
    return {
      meeting_id: meetingId,
      tencent_status: read.tencentStatus,
      repaired: read.repaired,
      waiting: read.waiting,
      next_read_at: read.nextReadAt,
    };
  }
}
