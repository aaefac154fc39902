import { Injectable } from '@nestjs/common';
import { TencentApi, type UpstreamAttempt } from './tencent-api.client';
import { describeUpstreamFailure, type UpstreamFailure } from './upstream-failure';

/** Callers per kickout or names call, as Tencent allows. */
export const CONTROL_USERS_PER_CALL = 20;

/** What one meeting-control call came to. */
export type ControlCallResult = { ok: true } | { ok: false; failure: UpstreamFailure };

type OnAttempt = (attempt: UpstreamAttempt) => void;

/** A phone caller as a control call names it: by ms_open_id (type 4), on a phone (instance 0). */
function phoneTarget(msOpenId: string) {
  return { to_operator_id: msOpenId, to_operator_id_type: 4, instanceid: 0 };
}

/**
 * Tencent's meeting control for phone callers, `PUT /v1/real-control/meetings/{id}/...`, made
 * as the configured operator from a PC (`instanceid` 1, as Tencent's own CLI sends it), with
 * the purpose `action`, which the shared budget serves first. A failure is answered, not thrown:
 * the caller reports it per caller.
 */
@Injectable()
export class MeetingControlClient {
  constructor(private readonly api: TencentApi) {}

  /** Mutes or unmutes one caller. Setting a state twice leaves it so: retried. */
  mute(
    meetingId: string,
    msOpenId: string,
    mute: boolean,
    onAttempt: OnAttempt,
  ): Promise<ControlCallResult> {
    return this.send('mutes', meetingId, { mute, user: phoneTarget(msOpenId) }, true, onAttempt);
  }

  /**
   * Removes up to 20 callers. Sent once, never retried: after a timeout or a 5xx the kick may
   * have happened, and a second kickout of callers who are gone is refused, which would report
   * a kick that worked as failed. The caller sees the failure and can ask again.
   */
  kick(
    meetingId: string,
    msOpenIds: string[],
    allowRejoin: boolean,
    onAttempt: OnAttempt,
  ): Promise<ControlCallResult> {
    const users = withinLimit(msOpenIds).map(phoneTarget);
    return this.send('kickout', meetingId, { allow_rejoin: allowRejoin, users }, false, onAttempt);
  }

  /** Renames up to 20 callers (keyed `ms_open_id` here). Naming twice leaves the name: retried. */
  rename(
    meetingId: string,
    msOpenIds: string[],
    nickName: string,
    onAttempt: OnAttempt,
  ): Promise<ControlCallResult> {
    const users = withinLimit(msOpenIds).map((msOpenId) => ({
      ms_open_id: msOpenId,
      instanceid: 0,
      nick_name: nickName,
    }));
    return this.send('names', meetingId, { users }, true, onAttempt);
  }

  private async send(
    endpoint: 'mutes' | 'kickout' | 'names',
    meetingId: string,
    fields: Record<string, unknown>,
    retry: boolean,
    onAttempt: OnAttempt,
  ): Promise<ControlCallResult> {
    try {
      await this.api.call({
        endpoint,
        method: 'PUT',
        path: `/v1/real-control/meetings/${encodeURIComponent(meetingId)}/${endpoint}`,
        body: { ...this.api.operator, instanceid: 1, ...fields },
        purpose: 'action',
        retry,
        onAttempt,
      });
      return { ok: true };
    } catch (error) {
      return { ok: false, failure: describeUpstreamFailure(error) };
    }
  }
}

function withinLimit(msOpenIds: string[]): string[] {
  if (msOpenIds.length === 0 || msOpenIds.length > CONTROL_USERS_PER_CALL) {
    throw new RangeError(`a control call names 1 to ${CONTROL_USERS_PER_CALL} callers`);
  }
  return msOpenIds;
}
