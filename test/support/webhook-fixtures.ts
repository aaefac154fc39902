import { randomUUID } from 'node:crypto';

interface ItemOptions {
  meetingId?: string;
  msOpenId?: string;
  instanceId?: string | number;
  pstnNumber?: string;
  operateTime?: number | string;
  status?: string;
}

/** A current-shape Tencent Meeting event with one payload item. */
export function buildEvent(
  event: string,
  options: ItemOptions & { traceId?: string } = {},
): string {
  return JSON.stringify({
    event,
    trace_id: options.traceId ?? randomUUID(),
    payload: [buildItem(options)],
  });
}

export function buildItem(options: ItemOptions = {}): Record<string, unknown> {
  return {
    operate_time: options.operateTime ?? Date.now(),
    operator: {
      userid: '',
      open_id: '',
      uuid: '',
      ms_open_id: options.msOpenId ?? 'WMfgHRYj6m36mcDGtK',
      user_name: 'caller',
      instance_id: options.instanceId ?? '0',
      ...(options.pstnNumber ? { pstn_number: options.pstnNumber } : {}),
    },
    meeting_info: {
      meeting_id: options.meetingId ?? '13339451618278424869',
      meeting_code: '445999969',
      subject: 'weekly sync',
      creator: { userid: 'host-1', ms_open_id: 'HostMsOpenId', user_name: 'host' },
      meeting_type: 0,
      start_time: 1608522626,
      end_time: 1609415039,
      meeting_id_type: 0,
    },
    ...(options.status ? { status: options.status } : {}),
  };
}
