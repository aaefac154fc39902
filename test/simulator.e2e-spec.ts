import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { ADMIN_TOKEN, AES_KEY, AES_TOKEN, type TestApp } from './support/test-app';
import { startTestStack, type TestStack } from './support/test-stack';
import { play, type CheckResult } from '../tools/simulator/player';
import { buildScenario, type Scenario } from '../tools/simulator/scenario';
import { ServiceClient } from '../tools/simulator/service-client';
import { truthBefore, type Truth } from '../tools/simulator/truth';
import { settle } from '../tools/simulator/verify';

describe('the simulator scenario against the real app', () => {
  let stack: TestStack;
  let fake: FakeTencentServer;
  let t: TestApp;
  let client: ServiceClient;
  let scenario: Scenario;
  let results: CheckResult[];

  beforeAll(async () => {
    stack = await startTestStack();
    ({ fake, t } = stack);
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    client = new ServiceClient({
      baseUrl: `http://127.0.0.1:${port}`,
      adminToken: ADMIN_TOKEN,
      webhookToken: AES_TOKEN,
      aesKey: AES_KEY,
    });
    scenario = buildScenario({ meetings: 2, callers: 3 });
    results = await play(scenario, {
      client,
      tencent: fake,
      eventsPerSecond: 200,
      settleMs: 20_000,
      log: () => undefined,
    });
  }, 90_000);

  afterAll(() => stack?.close());

  it('gets every answer right, in the call, after the actions and after the meetings end', () => {
    expect(results.map((result) => result.name)).toEqual([
      'in call',
      'callers muted, renamed, kicked by number',
      'after control',
      'after the end',
    ]);
    const rows = results.flatMap((result): { ok: boolean }[] => result.rows);
    // 2 meetings x (3 callers + 2 callouts) at each of the three checks, 2 x 3 callers acted on.
    expect(rows).toHaveLength(36);
    expect(rows.filter((row) => !row.ok)).toEqual([]);
    expect(fake.badSignatureCount).toBe(0);
  });

  it('holds the story the issue asks for', () => {
    const end = truthBefore(scenario, scenario.acts.length);
    const inCall = truthBefore(
      scenario,
      scenario.acts.findIndex((act) => act.kind === 'check'),
    );
    const landline = (truth: Truth) => truth.find((n) => n.line.kind === 'landline')?.ids;
    expect(landline(inCall)?.map((id) => id.status)).toEqual(['left', 'connected']);
    expect(landline(end)?.map((id) => id.status)).toEqual(['left', 'left']);
    for (const truth of [inCall, end]) {
      const refused = truth.filter((n) => n.line.kind === 'callout refused');
      expect(refused).toHaveLength(2);
      expect(refused.every((n) => n.ids.length === 0)).toBe(true);
    }
    expect(
      inCall.filter((n) => n.line.kind === 'callout answered').map((n) => n.ids[0]?.status),
    ).toEqual(['connected', 'connected']);
    // The checks saw these answers from the service, not only from the truth.
    const after = results.find((result) => result.name === 'after the end');
    const row = after?.kind === 'lookup' ? after.rows.find((r) => r.caller === 'landline') : null;
    expect(row?.lookup.split(', ')).toHaveLength(2);
  });

  it('mutes, renames and kicks callers by number, as the fake Tencent then holds', () => {
    const control = results.find((result) => result.kind === 'control');
    if (control?.kind !== 'control') throw new Error('no control act was played');
    const inCall = truthBefore(
      scenario,
      scenario.acts.findIndex((act) => act.kind === 'control'),
    );
    const connectedId = (meeting: number, caller: string) =>
      inCall
        .find((n) => n.meeting.index === meeting && n.line.label === caller)
        ?.ids.filter((id) => id.status === 'connected')
        .map((id) => id.msOpenId)[0];
    // Only the landline's second call is on the line: its first hung up.
    const landline = connectedId(1, 'landline');
    expect(landline).toMatch(/-m1-land-2$/);
    expect(
      control.rows.map((r) => [r.meeting, r.caller, r.action, r.answered, r.tencent, r.replay]),
    ).toEqual([
      [1, 'landline', 'mute', `${landline} done`, `${landline} muted`, 'same answer, no call'],
      [
        1,
        'caller 2',
        'rename',
        `${connectedId(1, 'caller 2')} done`,
        `${connectedId(1, 'caller 2')} named "Guest 2"`,
        'same answer, no call',
      ],
      [
        1,
        'caller 3',
        'kick',
        `${connectedId(1, 'caller 3')} done`,
        `${connectedId(1, 'caller 3')} kicked, may not rejoin`,
        'same answer, no call',
      ],
      [
        2,
        'caller 1',
        'mute',
        `${connectedId(2, 'caller 1')} done`,
        `${connectedId(2, 'caller 1')} muted`,
        'same answer, no call',
      ],
      [
        2,
        'caller 2',
        'rename',
        `${connectedId(2, 'caller 2')} done`,
        `${connectedId(2, 'caller 2')} named "Guest 2"`,
        'same answer, no call',
      ],
      [
        2,
        'caller 3',
        'kick',
        `${connectedId(2, 'caller 3')} done`,
        `${connectedId(2, 'caller 3')} kicked, may not rejoin`,
        'same answer, no call',
      ],
    ]);
    // The kicked callers left, as the lookups after the actions said.
    const afterControl = truthBefore(
      scenario,
      scenario.acts.findIndex((act) => act.kind === 'check' && act.name === 'after control'),
    );
    expect(
      afterControl
        .filter((n) => n.line.label === 'caller 3')
        .map((n) => n.ids.map((id) => id.status)),
    ).toEqual([['left'], ['left']]);
  });

  it('reports a wrong truth as a mismatch', async () => {
    const truth = truthBefore(scenario, scenario.acts.length);
    const landline = truth.find((n) => n.line.kind === 'landline');
    const refused = truth.find((n) => n.line.kind === 'callout refused');
    const stillConnected = truth.find((n) => n.line.kind === 'dial-in' && n.ids.length > 0);
    if (!landline || !refused || !stillConnected) throw new Error('scenario lacks a line');
    // Claim the landline had one id only, the refused callout an id, and a caller still on.
    const wrong: Truth = truth.map((n) =>
      n === landline
        ? { ...n, ids: n.ids.slice(1) }
        : n === refused
          ? { ...n, ids: [{ msOpenId: 'never-existed', status: 'connected' }] }
          : n === stillConnected
            ? { ...n, ids: n.ids.map((id) => ({ ...id, status: 'connected' as const })) }
            : n,
    );
    const rows = await settle(client, wrong, { timeoutMs: 1000 });
    const mismatched = rows.filter((r) => !r.ok);
    expect(mismatched.map((r) => `${r.meeting} ${r.caller}`).sort()).toEqual(
      [
        `${landline.meeting.index} landline`,
        // The landline's first id is a caller this story never had.
        `${landline.meeting.index} unknown caller`,
        `${refused.meeting.index} callout refused`,
        `${stillConnected.meeting.index} ${stillConnected.line.label}`,
      ].sort(),
    );
    expect(rows.filter((r) => r.ok)).toHaveLength(rows.length - 4);
  });
});
