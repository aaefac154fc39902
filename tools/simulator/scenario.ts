import { randomBytes, randomInt } from 'node:crypto';

/**
 * The simulator's story, as data: meetings, the phone lines that call into them, and what
 * happens in which order. Nothing here talks to the service; the player acts it out and
 * truth.ts reads the expected answers from it.
 */

export type LineKind = 'dial-in' | 'landline' | 'callout answered' | 'callout refused';

/** One phone line (a number) in one meeting. */
export interface Line {
  /** How the report names it: "caller 2", "landline", "callout answered". */
  label: string;
  kind: LineKind;
  /** Short name inside the ms_open_ids the scenario makes up ("c2", "land", "co"). */
  code: string;
  area: string;
  /** Digits as a person writes them; the landline keeps its trunk 0. */
  phoneNumber: string;
}

export interface MeetingPlan {
  meetingId: string;
  /** 1-based, for people. */
  index: number;
  lines: Line[];
}

/** Something that happens in Tencent Meeting (or, for `numbers registered`, in a client). */
export type Happening =
  | { type: 'meeting started' | 'meeting ended' | 'numbers registered'; meeting: MeetingPlan }
  | { type: 'callout ringing' | 'callout refused'; meeting: MeetingPlan; line: Line }
  | {
      type: 'dialed in' | 'hung up' | 'callout answered' | 'callout hung up' | 'kicked';
      meeting: MeetingPlan;
      line: Line;
      msOpenId: string;
    };

/** What a meeting-control client asks the service to do to a phone line, by its number. */
export type ControlStep =
  | { action: 'mute' | 'kick'; meeting: MeetingPlan; line: Line }
  | { action: 'rename'; meeting: MeetingPlan; line: Line; nickName: string };

/**
 * A run of happenings shown as one progress step, a check of the lookup API, or a client acting
 * on callers through the service (checked against the fake Tencent's state).
 */
export type Act =
  | { kind: 'play'; title: string; happenings: Happening[] }
  | { kind: 'check'; name: string }
  | { kind: 'control'; name: string; steps: ControlStep[] };

export interface Scenario {
  meetings: MeetingPlan[];
  acts: Act[];
}

export interface ScenarioOptions {
  meetings: number;
  /** Phone callers dialing in to each meeting (the first meeting's first one is a landline). */
  callers: number;
}

/** Tencent allows 100 numbers per ms-open-id call; each meeting adds two callout numbers. */
export const MAX_CALLERS = 98;

export function buildScenario({ meetings: meetingCount, callers }: ScenarioOptions): Scenario {
  if (meetingCount < 1 || callers < 1 || callers > MAX_CALLERS) {
    throw new RangeError(`need at least 1 meeting and 1 to ${MAX_CALLERS} callers per meeting`);
  }
  // Fresh ids on every run, so a long-running service never mixes two runs up.
  const tag = randomBytes(2).toString('hex');
  const firstMeeting = 10n ** 19n + BigInt(randomInt(2 ** 47)) * 1000n;
  const meetings = Array.from({ length: meetingCount }, (_, m) =>
    planMeeting(String(firstMeeting + BigInt(m)), m + 1, callers),
  );
  const id = (meeting: MeetingPlan, line: Line, call: number) =>
    `${tag}-m${meeting.index}-${line.code}-${call}`;
  const dialIns = (meeting: MeetingPlan) =>
    meeting.lines.filter((line) => line.kind === 'dial-in' || line.kind === 'landline');
  const only = (meeting: MeetingPlan, kind: LineKind) =>
    meeting.lines.find((line) => line.kind === kind) as Line;
  const landlineMeeting = meetings[0];
  const landline = only(landlineMeeting, 'landline');
  // Callers on the line are muted, renamed and kicked in turn (the landline is muted: only its
  // second call, still connected, is acted on).
  const controlOf = (meeting: MeetingPlan): ControlStep[] =>
    dialIns(meeting).map((line, c): ControlStep => {
      if (c % 3 === 1) return { action: 'rename', meeting, line, nickName: `Guest ${c + 1}` };
      return { action: c % 3 === 0 ? 'mute' : 'kick', meeting, line };
    });
  const kicked = (meeting: MeetingPlan) =>
    controlOf(meeting).flatMap((step) => (step.action === 'kick' ? [step.line] : []));

  const every = (make: (meeting: MeetingPlan) => Happening[]) => meetings.flatMap(make);
  // Callers of different meetings take turns, as they would.
  const callersDialIn: Happening[] = [];
  for (let c = 0; c < callers; c += 1) {
    for (const meeting of meetings) {
      const line = dialIns(meeting)[c];
      callersDialIn.push({ type: 'dialed in', meeting, line, msOpenId: id(meeting, line, 1) });
    }
  }

  const acts: Act[] = [
    {
      kind: 'play',
      title: 'meetings start',
      happenings: every((meeting) => [{ type: 'meeting started', meeting }]),
    },
    {
      kind: 'play',
      title: "a meeting-control client registers each meeting's numbers",
      happenings: every((meeting) => [{ type: 'numbers registered', meeting }]),
    },
    { kind: 'play', title: 'phone callers dial in', happenings: callersDialIn },
    {
      kind: 'play',
      title: 'outbound calls: one answered, one refused per meeting',
      happenings: every((meeting) => {
        const answered = only(meeting, 'callout answered');
        const refused = only(meeting, 'callout refused');
        return [
          { type: 'callout ringing', meeting, line: answered },
          { type: 'callout ringing', meeting, line: refused },
          { type: 'callout answered', meeting, line: answered, msOpenId: id(meeting, answered, 1) },
          { type: 'callout refused', meeting, line: refused },
        ];
      }),
    },
    {
      kind: 'play',
      title: 'the landline hangs up and dials in again',
      happenings: [
        {
          type: 'hung up',
          meeting: landlineMeeting,
          line: landline,
          msOpenId: id(landlineMeeting, landline, 1),
        },
        {
          type: 'dialed in',
          meeting: landlineMeeting,
          line: landline,
          msOpenId: id(landlineMeeting, landline, 2),
        },
      ],
    },
    { kind: 'check', name: 'in call' },
    {
      kind: 'control',
      name: 'callers muted, renamed, kicked by number',
      steps: meetings.flatMap(controlOf),
    },
    {
      kind: 'play',
      title: 'Tencent reports the kicked callers leaving',
      happenings: every((meeting) =>
        kicked(meeting).map((line): Happening => ({
          type: 'kicked',
          meeting,
          line,
          msOpenId: id(meeting, line, 1),
        })),
      ),
    },
    { kind: 'check', name: 'after control' },
    {
      kind: 'play',
      title: 'every second caller still on leaves, answered callouts hang up',
      happenings: every((meeting) => {
        const answered = only(meeting, 'callout answered');
        return [
          ...dialIns(meeting)
            .filter((line, c) => c % 2 === 1 && !kicked(meeting).includes(line))
            .map((line): Happening => ({
              type: 'hung up',
              meeting,
              line,
              msOpenId: id(meeting, line, 1),
            })),
          { type: 'callout hung up', meeting, line: answered, msOpenId: id(meeting, answered, 1) },
        ];
      }),
    },
    {
      kind: 'play',
      title: 'meetings end (closing the callers still on the line)',
      happenings: every((meeting) => [{ type: 'meeting ended', meeting }]),
    },
    { kind: 'check', name: 'after the end' },
  ];
  return { meetings, acts };
}

function planMeeting(meetingId: string, index: number, callers: number): MeetingPlan {
  const digits = (n: number, width: number) => String(n).padStart(width, '0');
  const lines: Line[] = Array.from({ length: callers }, (_, c) => ({
    label: `caller ${c + 1}`,
    kind: 'dial-in',
    code: `c${c + 1}`,
    area: '86',
    phoneNumber: `13${digits(index, 5)}${digits(c + 1, 4)}`,
  }));
  if (index === 1) {
    lines[0] = {
      label: 'landline',
      kind: 'landline',
      code: 'land',
      area: '86',
      phoneNumber: '01062000000',
    };
  }
  lines.push(
    {
      label: 'callout answered',
      kind: 'callout answered',
      code: 'co',
      area: '86',
      phoneNumber: `15${digits(index, 5)}0001`,
    },
    {
      label: 'callout refused',
      kind: 'callout refused',
      code: 'cr',
      area: '86',
      phoneNumber: `15${digits(index, 5)}0002`,
    },
  );
  return { meetingId, index, lines };
}
