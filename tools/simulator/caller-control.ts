import { randomUUID } from 'node:crypto';
import type {
  ActionAnswer,
  ActionOptions,
  ActionResult,
  ActionTargets,
  PstnTrackerClient,
} from '../../clients/typescript/src';
import { maskNumber } from '../../src/admin/phone-masking';
import type { FakeTencentServer } from '../fake-tencent/fake-tencent-server';
import type { ParticipantView } from '../fake-tencent/meeting-state';
import type { ControlStep, Line } from './scenario';
import { numberOf, sleep, type ServiceClient } from './service-client';
import type { Truth } from './truth';

/**
 * A meeting-control client acting on callers by number through the service, and the check of
 * what Tencent (the fake) then holds against the truth: each connected call of the number
 * muted, renamed or kicked, the service answering `done` for exactly those ids, and the same
 * Idempotency-Key answering the same again without another upstream call.
 */

export interface ControlRow {
  meeting: number;
  caller: string;
  number: string;
  action: string;
  /** What Tencent should hold for each connected call of the number. */
  truth: string;
  answered: string;
  tencent: string;
  replay: string;
  ok: boolean;
}

/**
 * A failed result (a kick is sent once, so an upstream failure shows) is asked again, after
 * 1, 2, 4, 8 s: long enough for the service's circuit, open after a run of failures, to close.
 */
const TRIES = 5;
const CONTROL_PATH = /\/(mutes|kickout|names)$/;
/** How long the service may wait for a caller it does not know as connected yet. */
const WAIT_MS = 2000;

type Act = (
  client: PstnTrackerClient,
  meetingId: string,
  targets: ActionTargets,
  options: ActionOptions,
) => Promise<ActionAnswer>;
type Group = { steps: ControlStep[]; act: Act };

export async function playControl(
  steps: ControlStep[],
  truth: Truth,
  client: ServiceClient,
  tencent: FakeTencentServer,
): Promise<ControlRow[]> {
  const answers = new Map<Line, ActionResult[]>();
  const replays = new Map<Line, string>();
  const send = (group: Group, meetingId: string, targets: ActionTargets, idempotencyKey: string) =>
    group.act(client.api, meetingId, targets, { idempotencyKey, waitMs: WAIT_MS });
  for (const group of groups(steps)) {
    const { meetingId } = group.steps[0].meeting;
    let pending = group.steps.map((step) => step.line);
    let last: { key: string; targets: ActionTargets; answer: ActionAnswer } | undefined;
    for (let attempt = 1; attempt <= TRIES && pending.length > 0; attempt += 1) {
      if (attempt > 1) await sleep(1000 * 2 ** (attempt - 2));
      const targets = { phone_numbers: pending.map(numberOf) };
      const key = randomUUID();
      const answer = await send(group, meetingId, targets, key);
      for (const line of pending)
        answers.set(
          line,
          (answer.results ?? []).filter((item) => isLine(line, item)),
        );
      pending = pending.filter((line) => answers.get(line)?.some((i) => i.outcome === 'failed'));
      last = { key, targets, answer };
    }
    if (!last) continue;
    const calls = () =>
      tencent.requests.filter((r) => r.meetingId === meetingId && CONTROL_PATH.test(r.path)).length;
    const before = calls();
    const again = await send(group, meetingId, last.targets, last.key);
    const replay =
      JSON.stringify(again) !== JSON.stringify(last.answer)
        ? 'another answer'
        : calls() !== before
          ? 'called Tencent again'
          : 'same answer, no call';
    for (const step of group.steps) replays.set(step.line, replay);
  }

  return steps.map((step) => {
    const { meeting, line } = step;
    const ids = (truth.find((n) => n.meeting === meeting && n.line === line)?.ids ?? [])
      .filter((id) => id.status === 'connected')
      .map((id) => id.msOpenId);
    const expected = describeEach(ids, () => expectedState(step));
    const tencentState = describeEach(ids, (id) =>
      actualState(step, tencent.participant(meeting.meetingId, id)),
    );
    const answered = (answers.get(line) ?? [])
      .map(
        (item) =>
          `${item.ms_open_id ?? '-'} ${item.outcome}${item.error ? ` (${item.error.code})` : ''}`,
      )
      .sort()
      .join(', ');
    const replay = replays.get(line) ?? 'not asked';
    return {
      meeting: meeting.index,
      caller: line.label,
      number: maskNumber(line.area, line.phoneNumber),
      action: step.action,
      truth: expected,
      answered: answered || '-',
      tencent: tencentState,
      replay,
      ok:
        answered === describeEach(ids, () => 'done') &&
        tencentState === expected &&
        replay === 'same answer, no call',
    };
  });
}

/** One request per meeting and action (a rename's name is its own): up to 20 numbers each. */
function groups(steps: ControlStep[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const step of steps) {
    const key = JSON.stringify([
      step.meeting.meetingId,
      step.action,
      step.action === 'rename' ? step.nickName : null,
    ]);
    const group: Group = byKey.get(key) ?? { steps: [], act: actFor(step) };
    group.steps.push(step);
    byKey.set(key, group);
  }
  return [...byKey.values()];
}

function actFor(step: ControlStep): Act {
  switch (step.action) {
    case 'mute':
      return (client, meetingId, targets, options) => client.mute(meetingId, targets, options);
    case 'kick':
      return (client, meetingId, targets, options) =>
        client.kick(meetingId, targets, { ...options, allowRejoin: false });
    case 'rename':
      return (client, meetingId, targets, options) =>
        client.rename(meetingId, targets, step.nickName, options);
  }
}

function expectedState(step: ControlStep): string {
  if (step.action === 'mute') return 'muted';
  if (step.action === 'rename') return `named "${step.nickName}"`;
  return 'kicked, may not rejoin';
}

function actualState(step: ControlStep, p: ParticipantView | undefined): string {
  if (!p) return 'never joined';
  if (step.action === 'mute') return p.muted ? 'muted' : 'not muted';
  if (step.action === 'rename') return `named "${p.nickName}"`;
  if (p.kicked) return p.allowRejoin === false ? 'kicked, may not rejoin' : 'kicked, may rejoin';
  return p.connected ? 'still in the meeting' : 'left';
}

function describeEach(ids: string[], state: (id: string) => string): string {
  return ids.length === 0
    ? '-'
    : ids
        .map((id) => `${id} ${state(id)}`)
        .sort()
        .join(', ');
}

/** The service echoes each number as it was asked. */
function isLine(line: Line, item: ActionResult): boolean {
  return item.area === line.area && item.phone_number === line.phoneNumber;
}
