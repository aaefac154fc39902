/** What applying an event changed, for whoever reacts after the commit (resolver, cache, SSE). */
export type TrackingChange =
  | { type: 'participant.joined' | 'participant.left'; meetingId: string; msOpenId: string }
  | {
      type: 'participant.resolved';
      meetingId: string;
      msOpenId: string;
      area: string;
      phoneNumber: string;
    }
  | { type: 'meeting.ended'; meetingId: string }
  /** A phone call connected: the meeting's tracked numbers may resolve now. */
  | { type: 'phone.connected'; meetingId: string };
