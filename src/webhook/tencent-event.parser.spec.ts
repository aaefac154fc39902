import { describe, expect, it } from 'vitest';
import { MalformedEventError, parseTencentEvent, tencentTime } from './tencent-event.parser';

describe('parseTencentEvent', () => {
  it('reads the current shape: trace_id, ms operate_time, creator{}, string instance_id', () => {
    const { event } = parseTencentEvent(
      JSON.stringify({
        event: 'meeting.participant-joined',
        trace_id: 'e7aa65dd',
        payload: [
          {
            operate_time: 1609313201465,
            operator: { ms_open_id: 'WMfg', instance_id: '0', pstn_number: '0086123888' },
            meeting_info: {
              meeting_id: '13339451618278424869',
              creator: { userid: 'tester-2' },
              start_time: 1608522626,
              meeting_id_type: 0,
            },
          },
        ],
      }),
    );
    expect(event.traceId).toBe('e7aa65dd');
    const [item] = event.items;
    expect(item.operateTime?.getTime()).toBe(1609313201465);
    expect(item.operator).toMatchObject({
      msOpenId: 'WMfg',
      instanceId: '0',
      pstnNumber: '0086123888',
    });
    expect(item.meeting).toMatchObject({
      meetingId: '13339451618278424869',
      creatorUserId: 'tester-2',
      meetingIdType: 0,
    });
    expect(item.meeting.startTime?.getTime()).toBe(1608522626000);
  });

  it('reads numeric instance_id and status on a callout event, and every payload item', () => {
    const { event } = parseTencentEvent(
      JSON.stringify({
        event: 'meeting.phone.participant-status-updated',
        unique_sequence: 'u-1',
        payload: [
          {
            operator: { instance_id: 0 },
            status: 'START_ACCEPT',
            meeting_info: { meeting_id: '1' },
          },
          { operator: { instance_id: 3 }, meeting_info: { meeting_id: '1', creator_id: 'c' } },
        ],
      }),
    );
    expect(event.traceId).toBeNull();
    expect(event.uniqueSequence).toBe('u-1');
    expect(event.items.map((i) => i.operator.instanceId)).toEqual(['0', '3']);
    expect(event.items[0].phoneStatus).toBe('START_ACCEPT');
    expect(event.items[1].meeting.creatorUserId).toBe('c');
  });

  it('keeps unknown events and keeps meeting ids as strings', () => {
    const { event, raw } = parseTencentEvent(
      '{"event":"recording.completed","payload":[{"meeting_info":{"meeting_id":"18446744073709551615"}}]}',
    );
    expect(event.event).toBe('recording.completed');
    expect(event.items[0].meeting.meetingId).toBe('18446744073709551615');
    expect(raw.event).toBe('recording.completed');
  });

  it('rejects what is not an event', () => {
    expect(() => parseTencentEvent('not json')).toThrow(
      new MalformedEventError('decoded data is not JSON'),
    );
    expect(() => parseTencentEvent('[1]')).toThrow('decoded data is not a JSON object');
    expect(() => parseTencentEvent('{"payload":[]}')).toThrow('decoded event has no "event" name');
  });

  it('reads a meeting id sent as a JSON number beyond 2^53 from its digits, not rounded', () => {
    const { event, raw } = parseTencentEvent(
      '{"event":"meeting.started","payload":[{"meeting_info":{"meeting_id":13339451618278424869}}]}',
    );
    expect(event.items[0].meeting.meetingId).toBe('13339451618278424869');
    expect((raw.payload as { meeting_info: unknown }[])[0].meeting_info).toEqual({
      meeting_id: '13339451618278424869',
    });
    // A safe integer is read as it is.
    const small = parseTencentEvent('{"event":"e","payload":[{"meeting_info":{"meeting_id":42}}]}');
    expect(small.event.items[0].meeting.meetingId).toBe('42');
  });

  it('parses times in every known form', () => {
    expect(tencentTime('2020-12-29 17:41:06', 's')?.toISOString()).toBe('2020-12-29T09:41:06.000Z');
    expect(tencentTime('1608522626', 's')?.getTime()).toBe(1608522626000);
    expect(tencentTime(1609313201465, 'ms')?.getTime()).toBe(1609313201465);
    expect(tencentTime('', 'ms')).toBeNull();
    expect(tencentTime('yesterday', 'ms')).toBeNull();
  });
});
