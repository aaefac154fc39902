import { Injectable } from '@nestjs/common';
import {
  CONTROL_USERS_PER_CALL,
  MeetingControlClient,
  type ControlCallResult,
} from '../tencent/meeting-control.client';
import type { UpstreamAttempt } from '../tencent/tencent-api.client';
import type { ActionSpec } from './phone-caller-action.schema';

/** What an action sent upstream so far: the ids it aimed at and every attempt, failed or not. */
export interface ActionProgress {
  actedOn: string[];
  attempts: UpstreamAttempt[];
}

/**
 * The Tencent calls of an action on connected callers: one mutes call per caller (all at once,
 * the shared limiter paces them), kickout and names in calls of up to 20 callers. A caller's
 * result is its call's.
 */
@Injectable()
export class ControlCalls {
  constructor(private readonly client: MeetingControlClient) {}

  async run(
    meetingId: string,
    spec: ActionSpec,
    msOpenIds: string[],
    progress: ActionProgress,
  ): Promise<Map<string, ControlCallResult>> {
    progress.actedOn.push(...msOpenIds);
    const record = (attempt: UpstreamAttempt) => progress.attempts.push(attempt);
    const results = new Map<string, ControlCallResult>();
    const each = async (size: number, send: (ids: string[]) => Promise<ControlCallResult>) => {
      await Promise.all(
        chunks(msOpenIds, size).map(async (chunk) => {
          const result = await send(chunk);
          for (const msOpenId of chunk) results.set(msOpenId, result);
        }),
      );
    };
    switch (spec.action) {
      case 'mute':
      case 'unmute': {
        const mute = spec.action === 'mute';
        await each(1, ([msOpenId]) => this.client.mute(meetingId, msOpenId, mute, record));
        break;
      }
      case 'kick': {
        const { allowRejoin } = spec;
        await each(CONTROL_USERS_PER_CALL, (ids) =>
          this.client.kick(meetingId, ids, allowRejoin, record),
        );
        break;
      }
      case 'rename': {
        const { nickName } = spec;
        await each(CONTROL_USERS_PER_CALL, (ids) =>
          this.client.rename(meetingId, ids, nickName, record),
        );
        break;
      }
    }
    return results;
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}
