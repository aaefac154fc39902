import type { Act, Line, MeetingPlan, Scenario } from './scenario';

/**
 * What the lookup API should answer at a check: every number of every meeting with the
 * ms_open_ids its calls had and whether each call is still on the line. It is read from the
 * story alone, never from the service.
 */

export type CallStatus = 'connected' | 'left';

export interface ExpectedId {
  msOpenId: string;
  status: CallStatus;
}

export interface NumberTruth {
  meeting: MeetingPlan;
  line: Line;
  /** In the order the calls connected; empty for a number whose call never connected. */
  ids: ExpectedId[];
}

export type Truth = NumberTruth[];

/** The truth once the acts before `actIndex` have been played. */
export function truthBefore(scenario: Scenario, actIndex: number): Truth {
  const calls = new Map<string, { line: Line; id: ExpectedId }[]>();
  const callsOf = (meeting: MeetingPlan) => {
    const list = calls.get(meeting.meetingId) ?? [];
    calls.set(meeting.meetingId, list);
    return list;
  };
  const setStatus = (meeting: MeetingPlan, msOpenId: string, status: CallStatus) => {
    const call = callsOf(meeting).find((c) => c.id.msOpenId === msOpenId);
    if (call) call.id.status = status;
  };

  for (const act of playedActs(scenario.acts, actIndex)) {
    for (const happening of act.happenings) {
      const { meeting } = happening;
      switch (happening.type) {
        case 'dialed in':
        case 'callout answered':
          callsOf(meeting).push({
            line: happening.line,
            id: { msOpenId: happening.msOpenId, status: 'connected' },
          });
          break;
        case 'hung up':
        case 'callout hung up':
        case 'kicked':
          setStatus(meeting, happening.msOpenId, 'left');
          break;
        case 'meeting ended':
          for (const call of callsOf(meeting)) call.id.status = 'left';
          break;
        default:
          // Ringing and refused callouts connect nobody; registering numbers changes no call.
          break;
      }
    }
  }

  return scenario.meetings.flatMap((meeting) =>
    meeting.lines.map((line) => ({
      meeting,
      line,
      ids: callsOf(meeting)
        .filter((call) => call.line === line)
        .map((call) => ({ ...call.id })),
    })),
  );
}

function playedActs(acts: Act[], before: number) {
  return acts
    .slice(0, before)
    .filter((act): act is Extract<Act, { kind: 'play' }> => act.kind === 'play');
}
