import { randomUUID } from 'node:crypto';
import type { Happening, Line, MeetingPlan } from './scenario';

/**
 * The Tencent Meeting webhook (decoded JSON, current shape) that reports a happening; null for
 * what Tencent does not report (a client registering numbers).
 */
export function webhookFor(happening: Happening, operateTime: number): string | null {
  const { meeting } = happening;
  switch (happening.type) {
    case 'numbers registered':
      return null;
    case 'meeting started':
      return event('meeting.started', meeting, operateTime, host());
    case 'meeting ended':
      return event('meeting.end', meeting, operateTime, host(), { meeting_end_type: 0 });
    case 'dialed in':
      return event(
        'meeting.participant-joined',
        meeting,
        operateTime,
        caller(happening.line, happening.msOpenId),
      );
    case 'hung up':
    case 'kicked':
      return event(
        'meeting.participant-left',
        meeting,
        operateTime,
        caller(happening.line, happening.msOpenId),
      );
    case 'callout ringing':
      return callout(meeting, happening.line, '', 'START_INVITE', operateTime);
    case 'callout answered':
      return callout(meeting, happening.line, happening.msOpenId, 'START_ACCEPT', operateTime);
    case 'callout refused':
      return callout(meeting, happening.line, '', 'LEAVE_WITHOUT_ACCEPT', operateTime);
    case 'callout hung up':
      return callout(
        meeting,
        happening.line,
        happening.msOpenId,
        'LEAVE_WITH_ACCEPTED',
        operateTime,
      );
  }
}

type Operator = Record<string, string>;

function host(): Operator {
  return { userid: 'sim-host', open_id: '', uuid: '', ms_open_id: 'SimHost', instance_id: '1' };
}

/** A phone caller: device type "0", no user ids, the number as Tencent shows it. */
function caller(line: Line, msOpenId: string): Operator {
  return {
    userid: '',
    open_id: '',
    uuid: '',
    ms_open_id: msOpenId,
    user_name: line.label,
    instance_id: '0',
    pstn_number: `+${line.area}${line.phoneNumber.replace(/^0+/, '')}`,
  };
}

function callout(
  meeting: MeetingPlan,
  line: Line,
  msOpenId: string,
  status: string,
  operateTime: number,
): string {
  // Where Tencent puts the status is not pinned down; the service reads the item or operator.
  return event(
    'meeting.phone.participant-status-updated',
    meeting,
    operateTime,
    caller(line, msOpenId),
    {
      status,
    },
  );
}

function event(
  name: string,
  meeting: MeetingPlan,
  operateTime: number,
  operator: Operator,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    event: name,
    trace_id: randomUUID(),
    payload: [
      {
        operate_time: operateTime,
        operator,
        meeting_info: {
          meeting_id: meeting.meetingId,
          meeting_code: meeting.meetingId.slice(-9),
          subject: `Simulated meeting ${meeting.index}`,
          creator: { userid: 'sim-host', ms_open_id: 'SimHost', user_name: 'host' },
          meeting_type: 0,
          start_time: Math.floor(operateTime / 1000),
          end_time: Math.floor(operateTime / 1000) + 3600,
          meeting_id_type: 0,
        },
        ...extra,
      },
    ],
  });
}
