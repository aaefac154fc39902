import type { ActionAnswer, ActionRequest, PhoneNumber, PstnTrackerApi } from './answers';
import { unwrap } from './pstn-tracker-error';

/**
 * `POST /v1/meetings/{meetingId}/phone-callers/actions` by action. Every connected caller of
 * each number (or each id) is acted on; one not connected yet is waited for up to `waitMs`
 * (the service's default is 5 s) and is `not_connected` after. Needs the `control` scope.
 */

/** Up to 20 numbers or ids, not both. */
export type ActionTargets = { phone_numbers: PhoneNumber[] } | { ms_open_ids: string[] };

export interface ActionOptions {
  /**
   * The same key with the same request within 24 hours answers the first result again without
   * acting twice: a retry after a lost answer is safe. The same key with another request is a
   * 409 (`idempotency_key_reused`).
   */
  idempotencyKey?: string;
  waitMs?: number;
}

async function act(
  api: PstnTrackerApi,
  meetingId: string,
  body: ActionRequest,
  idempotencyKey: string | undefined,
): Promise<ActionAnswer> {
  return unwrap(
    api.POST('/v1/meetings/{meetingId}/phone-callers/actions', {
      params: {
        path: { meetingId },
        header: idempotencyKey === undefined ? undefined : { 'Idempotency-Key': idempotencyKey },
      },
      body,
    }),
  );
}

export function mute(
  api: PstnTrackerApi,
  meetingId: string,
  targets: ActionTargets,
  { idempotencyKey, waitMs }: ActionOptions = {},
): Promise<ActionAnswer> {
  return act(api, meetingId, { action: 'mute', ...targets, wait_ms: waitMs }, idempotencyKey);
}

export function unmute(
  api: PstnTrackerApi,
  meetingId: string,
  targets: ActionTargets,
  { idempotencyKey, waitMs }: ActionOptions = {},
): Promise<ActionAnswer> {
  return act(api, meetingId, { action: 'unmute', ...targets, wait_ms: waitMs }, idempotencyKey);
}

/** Hangs the callers up; they may dial in again unless `allowRejoin` is false. */
export function kick(
  api: PstnTrackerApi,
  meetingId: string,
  targets: ActionTargets,
  { idempotencyKey, waitMs, allowRejoin }: ActionOptions & { allowRejoin?: boolean } = {},
): Promise<ActionAnswer> {
  return act(
    api,
    meetingId,
    { action: 'kick', ...targets, allow_rejoin: allowRejoin, wait_ms: waitMs },
    idempotencyKey,
  );
}

/** Names the callers `nickName` (1 to 20 characters) in the meeting. */
export function rename(
  api: PstnTrackerApi,
  meetingId: string,
  targets: ActionTargets,
  nickName: string,
  { idempotencyKey, waitMs }: ActionOptions = {},
): Promise<ActionAnswer> {
  return act(
    api,
    meetingId,
    { action: 'rename', ...targets, nick_name: nickName, wait_ms: waitMs },
    idempotencyKey,
  );
}
