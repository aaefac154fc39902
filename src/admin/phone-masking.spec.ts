import { describe, expect, it } from 'vitest';
import { maskNumber, maskPayload, maskText, NumberView } from './phone-masking';

describe('masking phone numbers by value', () => {
  it('writes every number in one format', () => {
    expect(maskNumber('86', '13812345678')).toBe('+86 138****5678');
    expect(maskText('+8613812345678')).toBe('+86 138****5678');
    expect(maskText('008613812345678')).toBe('+86 138****5678');
    expect(maskText('call 13812345678 or 021-1234-5678 now')).toBe(
      'call 138****5678 or 021****5678 now',
    );
    // Not a number: short runs stay.
    expect(maskText('room 42, ext 1234')).toBe('room 42, ext 1234');
  });

  it('masks numbers under any key, at any depth, and leaves known ids and times alone', () => {
    const payload = {
      event: 'meeting.phone.participant-status-updated',
      trace_id: 'e7aa65dd-1234567890',
      payload: [
        {
          operate_time: 1609313201465,
          operator: {
            ms_open_id: 'WMfgHRYj6m36mcDGtK',
            user_name: 'Zhang 13812345678',
            callee_number: 13987654321,
            extension_number: '8001234',
            Phone: '+86 0755 2345 6789',
            nested: { deeper: [{ number: '+8613811112222' }] },
          },
          meeting_info: { meeting_id: '13339451618278424869', meeting_code: '445999969' },
        },
      ],
    };
    const masked = maskPayload(payload) as typeof payload;
    const [item] = masked.payload;
    expect(item.operate_time).toBe(1609313201465);
    expect(masked.trace_id).toBe('e7aa65dd-1234567890');
    expect(item.meeting_info).toEqual({
      meeting_id: '13339451618278424869',
      meeting_code: '445999969',
    });
    expect(item.operator).toEqual({
      ms_open_id: 'WMfgHRYj6m36mcDGtK',
      user_name: 'Zhang 138****5678',
      callee_number: '139****4321',
      extension_number: '80**234',
      // Written with spaces, still one number (the trunk 0 is not part of it).
      Phone: '+86 755****6789',
      nested: { deeper: [{ number: '+86 138****2222' }] },
    });
  });

  it('shows a payload nested too deep to serialise as its masked text', () => {
    const text = `${'['.repeat(5000)}{"phone":"13812345678"}${']'.repeat(5000)}`;
    const masked = new NumberView(false).json(text);
    expect(masked).toBe(`${'['.repeat(5000)}{"phone":"138****5678"}${']'.repeat(5000)}`);
    expect(new NumberView(true).json(text)).toBe(text);
    expect(new NumberView(false).json('{"phone":"13812345678"}')).toEqual({ phone: '138****5678' });
  });
});
