import type { Meetings, RosterEntry } from './meeting-state';
import { OPERATOR_ID_TYPES } from './operator-check';
import { errorAnswer, invalidParameters, type Answer, type Json } from './tencent-answer';

/**
 * What the roster of a meeting the fake never heard of answers. Tencent does not document it:
 * `init` is how it describes a scheduled meeting nobody has joined yet (MEETING_STATE_INIT),
 * which is what a meeting the service learnt of before any webhook looks like; `not-found`
 * answers 190457 instead, for a test of a service that must cope with that reading.
 */
export type UnknownMeetingRoster = 'init' | 'not-found';

/** Tencent's maximum for this endpoint (it is 100 for the callout list). */
const MAX_PAGE_SIZE = 50;

const STATUS = { started: 'MEETING_STATE_STARTED', ended: 'MEETING_STATE_ENDED' } as const;

/**
 * `GET /v1/meetings/{id}/real-time-participants`: who is in the meeting now, in join order,
 * shaped like Tencent's Go SDK model V1MeetingsMeetingIdRealTimeParticipantsGet200Response.
 * Every query parameter is required.
 */
export function realTimeParticipants(
  meetings: Meetings,
  meetingId: string,
  query: URLSearchParams,
  unknownMeeting: UnknownMeetingRoster,
): Answer {
  const page = positiveInteger(query.get('page'));
  const pageSize = positiveInteger(query.get('page_size'));
  if (
    !query.get('operator_id') ||
    !OPERATOR_ID_TYPES.includes(Number(query.get('operator_id_type'))) ||
    page === null ||
    pageSize === null ||
    pageSize > MAX_PAGE_SIZE
  ) {
    return invalidParameters();
  }
  const meeting = meetings.find(meetingId);
  if (!meeting && unknownMeeting === 'not-found') {
    return errorAnswer(400, 190457, 'meeting not found');
  }
  const all = meetings.roster(meetingId);
  const items = all.slice((page - 1) * pageSize, page * pageSize);
  const known: Json = meeting
    ? {
        meeting_code: meeting.code,
        subject: base64(`meeting ${meetingId}`),
        schedule_start_time: String(meeting.scheduleStart),
        schedule_end_time: String(meeting.scheduleEnd),
      }
    : {};
  return {
    status: 200,
    body: {
      meeting_id: meetingId,
      ...known,
      status: meeting ? STATUS[meeting.status] : 'MEETING_STATE_INIT',
      current_page: page,
      current_size: items.length,
      total_count: all.length,
      total_page: Math.ceil(all.length / pageSize),
      participants: items.map(participantJson),
    },
  };
}

/** Ids and the name are what the service reads; the rest is filled as Tencent types it. */
function participantJson(p: RosterEntry): Json {
  const phone = p.instanceid === 0;
  return {
    userid: '',
    open_id: '',
    ms_open_id: p.msOpenId,
    user_name: base64(p.nickName),
    instanceid: p.instanceid,
    join_time: String(p.joinTime),
    join_type: phone ? 0 : 1,
    user_role: 0,
    audio_state: !p.muted,
    video_state: false,
    screen_shared_state: false,
    app_version: phone ? '' : '3.0.0',
  };
}

function positiveInteger(value: string | null): number | null {
  return value !== null && /^[1-9]\d*$/.test(value) ? Number(value) : null;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
