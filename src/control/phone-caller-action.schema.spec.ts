import { describe, expect, it } from 'vitest';
import { toActionRequest, type ActionBody } from './phone-caller-action.schema';

const body = (fields: Partial<ActionBody>): ActionBody => ({
  action: 'mute',
  wait_ms: 5000,
  ...fields,
});

describe('toActionRequest', () => {
  it('keeps each number once, in any spelling, echoed as first asked', () => {
    const request = toActionRequest(
      body({
        phone_numbers: [
          { area: 86, phone_number: '13800000001' },
          { area: '086', phone_number: 13800000001 },
          { area: 86, phone_number: '013800000002' },
        ],
      }),
    );
    expect(request).toEqual({
      action: 'mute',
      waitMs: 5000,
      targets: {
        kind: 'numbers',
        asked: [
          { area: 86, phone_number: '13800000001' },
          { area: 86, phone_number: '013800000002' },
        ],
        numbers: [
          { area: '86', phoneNumber: '13800000001' },
          { area: '86', phoneNumber: '13800000002' },
        ],
      },
    });
  });

  it('keeps each id once; a kick lets callers rejoin unless told otherwise', () => {
    expect(toActionRequest(body({ action: 'kick', ms_open_ids: ['a', 'b', 'a'] }))).toEqual({
      action: 'kick',
      allowRejoin: true,
      waitMs: 5000,
      targets: { kind: 'ids', ids: ['a', 'b'] },
    });
    expect(
      toActionRequest(body({ action: 'kick', ms_open_ids: ['a'], allow_rejoin: false })),
    ).toMatchObject({ allowRejoin: false });
    expect(
      toActionRequest(body({ action: 'rename', ms_open_ids: ['a'], nick_name: 'Guest' })),
    ).toMatchObject({ action: 'rename', nickName: 'Guest' });
  });

  it.each([
    [
      { ms_open_ids: ['a'], phone_numbers: [{ area: 86, phone_number: 1380000 }] },
      'send phone_numbers or ms_open_ids, not both',
    ],
    [{}, 'phone_numbers or ms_open_ids is required'],
    [{ action: 'rename' as const, ms_open_ids: ['a'] }, 'nick_name is required for rename'],
    [
      { action: 'unmute' as const, ms_open_ids: ['a'], nick_name: 'x' },
      'nick_name is only for rename',
    ],
    [
      { action: 'rename' as const, ms_open_ids: ['a'], nick_name: 'x', allow_rejoin: true },
      'allow_rejoin is only for kick',
    ],
  ])('refuses %j with a 400', (fields, message) => {
    expect(() => toActionRequest(body(fields))).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'bad_request',
        message,
      }),
    );
  });
});
