import { Injectable } from '@nestjs/common';
import { LookupService } from '../lookup/lookup.service';
import { MeetingResolver } from '../resolution/meeting-resolver';
import type { UpstreamFailure } from '../tencent/upstream-failure';
import { ControlCalls, type ActionProgress } from './control-calls';
import type { ActionRequest, ActionTargets } from './phone-caller-action.schema';
import { PhoneCallersStore } from './phone-callers.store';

export type ActionOutcome = 'done' | 'not_connected' | 'failed';
export const ACTION_OUTCOMES: readonly ActionOutcome[] = ['done', 'not_connected', 'failed'];

/**
 * One result of an action: the target (its position among the request's numbers or ids), the
 * caller acted on (null for a number that had no connected caller) and what came of it.
 */
export interface TargetResult {
  target: number;
  msOpenId: string | null;
  outcome: ActionOutcome;
  failure?: UpstreamFailure;
}

/**
 * Carries an action out: finds each target's connected callers in Postgres and acts on them at
 * once; a target with none yet is waited for until `wait_ms` has passed, reading again after
 * each of the meeting's events (a join, a resolved number) from any replica, so the caller is
 * acted on as soon as the service knows it. While a number waits and the meeting has a caller
 * with no number yet, the meeting's resolution is asked for with the priority of an action.
 * A target still without a caller at the deadline, or when the meeting ends, is `not_connected`
 * and costs no upstream call.
 */
@Injectable()
export class ActionExecution {
  constructor(
    private readonly lookups: LookupService,
    private readonly resolver: MeetingResolver,
    private readonly store: PhoneCallersStore,
    private readonly calls: ControlCalls,
  ) {}

  async perform(
    meetingId: string,
    request: ActionRequest,
    progress: ActionProgress,
  ): Promise<TargetResult[]> {
    const { targets } = request;
    const settled: (TargetResult[] | undefined)[] = Array.from({ length: size(targets) });
    const results = () =>
      settled.flatMap(
        (done, target) =>
          done ?? [
            {
              target,
              msOpenId: targets.kind === 'ids' ? targets.ids[target] : null,
              outcome: 'not_connected' as const,
            },
          ],
      );
    const everyFound = (found: string[][]) => found.every((ids) => ids.length > 0);
    /** Acts on the targets found connected, which settles them. */
    const actOn = async (positions: number[], found: string[][]): Promise<void> => {
      const ids = found.flat();
      if (ids.length > 0) {
        const answers = await this.calls.run(meetingId, request, ids, progress);
        positions.forEach((target, j) => {
          if (found[j].length === 0) return;
          settled[target] = found[j].map((msOpenId) => {
            const answer = answers.get(msOpenId);
            return answer?.ok === false
              ? { target, msOpenId, outcome: 'failed', failure: answer.failure }
              : { target, msOpenId, outcome: 'done' };
          });
        });
      }
    };

    const everyTarget = settled.map((_, i) => i);
    const now = await this.connectedIds(meetingId, targets, everyTarget);
    if (everyFound(now)) {
      await actOn(everyTarget, now);
      return results();
    }
    // A number with no caller yet is tracked, so that it is resolved once its call connects;
    // before any call is made, so that a meeting over its limit refuses the request whole.
    if (targets.kind === 'numbers') {
      await this.lookups.track(
        meetingId,
        targets.numbers.filter((_, i) => now[i].length === 0),
      );
    }
    await this.lookups.waitFor(
      meetingId,
      request.waitMs,
      async () => {
        const open = everyTarget.filter((i) => !settled[i]);
        const found = await this.connectedIds(meetingId, targets, open);
        await actOn(open, found);
        if (everyFound(found)) return true;
        const meeting = await this.store.meeting(meetingId);
        if (targets.kind === 'numbers' && meeting.open && meeting.unmappedCaller) {
          void this.resolver.request(meetingId, false, { waiting: 'action' });
        }
        return !meeting.open;
      },
      (finished) => finished,
    );
    return results();
  }

  /** The connected callers of each of these targets (by position), in the order given. */
  private async connectedIds(
    meetingId: string,
    targets: ActionTargets,
    positions: number[],
  ): Promise<string[][]> {
    if (targets.kind === 'numbers') {
      return this.store.connectedIdsOf(
        meetingId,
        positions.map((i) => targets.numbers[i]),
      );
    }
    const ids = positions.map((i) => targets.ids[i]);
    const connected = await this.store.connected(meetingId, ids);
    return ids.map((id) => (connected.has(id) ? [id] : []));
  }
}

function size(targets: ActionTargets): number {
  return targets.kind === 'numbers' ? targets.numbers.length : targets.ids.length;
}
