import type { FakeTencentServer } from '../fake-tencent/fake-tencent-server';
import { playControl, type ControlRow } from './caller-control';
import type { Happening, Scenario } from './scenario';
import { sleep, type ServiceClient } from './service-client';
import { webhookFor } from './tencent-events';
import { truthBefore } from './truth';
import { settle, type Row } from './verify';

/**
 * Acts a scenario out: tells the fake Tencent what it would know (which call is connected with
 * which ms_open_id), sends the webhooks Tencent would send at a steady rate, registers numbers
 * as a client would, and at each check compares the lookup API's answers with the truth. A
 * control act mutes, renames and kicks callers by number through the service, and compares
 * what the fake Tencent then holds with the truth.
 */

export interface PlayOptions {
  client: ServiceClient;
  tencent: FakeTencentServer;
  /** Webhooks per second. */
  eventsPerSecond: number;
  /** How long each check waits for the answers to settle. */
  settleMs: number;
  log: (line: string) => void;
}

export type CheckResult =
  | { kind: 'lookup'; name: string; rows: Row[] }
  | { kind: 'control'; name: string; rows: ControlRow[] };

export async function play(scenario: Scenario, options: PlayOptions): Promise<CheckResult[]> {
  const { client, log } = options;
  const pace = pacer(options.eventsPerSecond);
  const clock = monotonicClock();
  const results: CheckResult[] = [];

  await client.createApiClient();
  log('API client (lookup and control) created with the admin token');

  for (const [index, act] of scenario.acts.entries()) {
    if (act.kind === 'check') {
      log(`check "${act.name}": asking the lookup API...`);
      const rows = await settle(client, truthBefore(scenario, index), {
        timeoutMs: options.settleMs,
        onProgress: (right, total) => log(`  ${right}/${total} answers right`),
      });
      results.push({ kind: 'lookup', name: act.name, rows });
      continue;
    }
    if (act.kind === 'control') {
      log(`control "${act.name}": acting through the service...`);
      const truth = truthBefore(scenario, index);
      const rows = await playControl(act.steps, truth, client, options.tencent);
      log(`  ${rows.filter((row) => row.ok).length}/${rows.length} callers as the truth says`);
      results.push({ kind: 'control', name: act.name, rows });
      continue;
    }
    let webhooks = 0;
    for (const happening of act.happenings) {
      if (happening.type === 'numbers registered') {
        await client.registerNumbers(happening.meeting.meetingId, happening.meeting.lines);
        continue;
      }
      tellTencent(options.tencent, happening);
      const plaintext = webhookFor(happening, clock());
      if (!plaintext) continue;
      await pace();
      await client.deliver(plaintext);
      webhooks += 1;
    }
    log(
      webhooks > 0 ? `${act.title} (${webhooks} webhook${webhooks === 1 ? '' : 's'})` : act.title,
    );
  }
  return results;
}

/**
 * What Tencent's endpoints know once this has happened: a connected call's ms_open_id, and the
 * meeting's outbound calls (the fake keeps one entry per call, so each gets its final state).
 */
function tellTencent(tencent: FakeTencentServer, happening: Happening): void {
  const { meetingId } = happening.meeting;
  switch (happening.type) {
    case 'dialed in':
      tencent.connect(
        meetingId,
        happening.line.area,
        happening.line.phoneNumber,
        happening.msOpenId,
      );
      break;
    case 'callout answered': {
      const { area, phoneNumber } = happening.line;
      tencent.connect(meetingId, area, phoneNumber, happening.msOpenId);
      tencent.registerCallout(meetingId, area, phoneNumber, happening.msOpenId, 'START_ACCEPT');
      break;
    }
    case 'callout refused': {
      const { area, phoneNumber } = happening.line;
      tencent.registerCallout(meetingId, area, phoneNumber, '', 'LEAVE_WITHOUT_ACCEPT');
      break;
    }
    default:
      break;
  }
}

/** Waits as long as it takes for calls to come `perSecond` times a second. */
function pacer(perSecond: number): () => Promise<void> {
  const interval = 1000 / perSecond;
  let next = Date.now();
  return async () => {
    const now = Date.now();
    next = Math.max(next, now);
    const wait = next - now;
    next += interval;
    if (wait > 0) await sleep(wait);
  };
}

/**
 * Event times that never repeat or go back: the service orders a caller's events by
 * operate_time, and a hang-up must come after its dial-in even within one millisecond.
 */
function monotonicClock(): () => number {
  let last = 0;
  return () => (last = Math.max(Date.now(), last + 1));
}
