import type { Meetings } from './meeting-state';
import type { Json } from './tencent-answer';

/**
 * The ms-open-id answer: every id each asked number ever had in the meeting, echoing the
 * number under the field name it was asked with (`phone` or `phone_number`).
 */
export function msOpenIds(meetings: Meetings, meetingId: string, asked: Json[]): Json {
  const list = asked.flatMap((item) => {
    const field = 'phone' in item ? 'phone' : 'phone_number';
    const area = String(item.area);
    const number = String(item[field]);
    return meetings
      .history(meetingId)
      .filter(
        (c) =>
          trimZeros(c.area) === trimZeros(area) && trimZeros(c.phoneNumber) === trimZeros(number),
      )
      .map((c) => ({ area: item.area, [field]: item[field], ms_open_id: c.msOpenId }));
  });
  return { meeting_id: meetingId, ms_open_id_list: list };
}

/**
 * Tencent's documented answer (cloud.tencent.com/document/product/1095/80577): `phone_numbers`
 * with `area` a Number and `phone` a String; every query parameter is required, and
 * `page_size` is at most 100. Null for a request Tencent would refuse with 190004.
 */
export function calloutPage(
  meetings: Meetings,
  meetingId: string,
  query: URLSearchParams,
): Json | null {
  const required = ['operator_id', 'operator_id_type', 'page', 'page_size'];
  if (required.some((name) => !query.get(name))) return null;
  const page = Number(query.get('page'));
  const pageSize = Number(query.get('page_size'));
  if (!(page >= 1) || !(pageSize >= 1 && pageSize <= 100)) return null;
  const all = meetings.callouts(meetingId);
  const items = all.slice((page - 1) * pageSize, page * pageSize);
  return {
    meeting_id: meetingId,
    total_count: all.length,
    current_page: page,
    current_size: items.length,
    total_page: Math.ceil(all.length / pageSize),
    phone_numbers: items.map((c) => ({
      area: Number(c.area),
      phone: c.phoneNumber,
      status: c.status,
      ms_open_id: c.msOpenId,
      nick_name: 'caller',
    })),
  };
}

function trimZeros(digits: string): string {
  return digits.replace(/^0+/, '');
}
