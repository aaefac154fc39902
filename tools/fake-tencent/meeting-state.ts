/**
 * The fake's own truth about each meeting: whether it is running, who is in it now, every
 * ms_open_id each phone number ever had in it, and its outbound calls.
 */

export interface Connection {
  area: string;
  phoneNumber: string;
  msOpenId: string;
}

export interface Callout extends Connection {
  status: string;
}

/** One participant as the live roster lists it; `area`/`phoneNumber` only for phone callers. */
export interface RosterEntry {
  msOpenId: string;
  /** Tencent's device type: 0 is a phone (PSTN) caller. */
  instanceid: number;
  nickName: string;
  /** Unix seconds. */
  joinTime: number;
  muted: boolean;
  area?: string;
  phoneNumber?: string;
}

export interface ParticipantView {
  connected: boolean;
  muted: boolean;
  nickName: string;
  instanceid: number;
  kicked: boolean;
  /** What the kickout said; null for a participant never kicked. */
  allowRejoin: boolean | null;
}

export interface Participant extends RosterEntry {
  connected: boolean;
  kicked: boolean;
  allowRejoin: boolean | null;
}

export interface Meeting {
  status: 'started' | 'ended';
  code: string;
  /** Unix seconds: when the fake first heard of the meeting, and an hour later. */
  scheduleStart: number;
  scheduleEnd: number;
  /** Every id a number ever had: Tencent answers history too. */
  history: Connection[];
  callouts: Callout[];
  /** Everyone who ever joined, in join order; the live roster is those still connected. */
  participants: Map<string, Participant>;
}

export interface JoinOptions {
  joinTime?: Date;
  nickName?: string;
}

export class Meetings {
  private readonly meetings = new Map<string, Meeting>();

  find(meetingId: string): Meeting | undefined {
    return this.meetings.get(meetingId);
  }

  history(meetingId: string): Connection[] {
    return this.find(meetingId)?.history ?? [];
  }

  callouts(meetingId: string): Callout[] {
    return this.find(meetingId)?.callouts ?? [];
  }

  roster(meetingId: string): RosterEntry[] {
    return [...(this.find(meetingId)?.participants.values() ?? [])]
      .filter((p) => p.connected)
      .map(({ msOpenId, instanceid, nickName, joinTime, muted, area, phoneNumber }) => ({
        msOpenId,
        instanceid,
        nickName,
        joinTime,
        muted,
        ...(area === undefined ? {} : { area, phoneNumber }),
      }));
  }

  participant(meetingId: string, msOpenId: string): ParticipantView | undefined {
    const p = this.find(meetingId)?.participants.get(msOpenId);
    if (!p) return undefined;
    const { connected, muted, nickName, instanceid, kicked, allowRejoin } = p;
    return { connected, muted, nickName, instanceid, kicked, allowRejoin };
  }

  /** The participant with this id and device type, if it is in the meeting now. */
  live(meetingId: string, msOpenId: string, instanceid: number): Participant | undefined {
    const p = this.find(meetingId)?.participants.get(msOpenId);
    return p?.connected && p.instanceid === instanceid ? p : undefined;
  }

  connect(meetingId: string, connection: Connection, options: JoinOptions): void {
    const meeting = this.touch(meetingId);
    meeting.history.push(connection);
    this.join(meeting, {
      msOpenId: connection.msOpenId,
      instanceid: 0,
      nickName: options.nickName ?? maskedNumber(connection.phoneNumber),
      joinTime: unixSeconds(options.joinTime ?? new Date()),
      muted: false,
      area: connection.area,
      phoneNumber: connection.phoneNumber,
    });
  }

  joinApp(meetingId: string, msOpenId: string, instanceid: number): void {
    if (instanceid === 0) throw new RangeError('instanceid 0 is a phone caller: use connect()');
    this.join(this.touch(meetingId), {
      msOpenId,
      instanceid,
      nickName: 'participant',
      joinTime: unixSeconds(new Date()),
      muted: false,
    });
  }

  /** Leaving twice is harmless; leaving a meeting one never joined is a mistake in the test. */
  disconnect(meetingId: string, msOpenId: string): void {
    const p = this.find(meetingId)?.participants.get(msOpenId);
    if (!p) throw new Error(`${msOpenId} never joined meeting ${meetingId}`);
    p.connected = false;
  }

  endMeeting(meetingId: string): void {
    const meeting = this.touch(meetingId);
    meeting.status = 'ended';
    for (const p of meeting.participants.values()) p.connected = false;
  }

  registerCallout(meetingId: string, callout: Callout): void {
    this.touch(meetingId).callouts.push(callout);
  }

  /** The meeting, created as started the first time anything happens in it. */
  private touch(meetingId: string): Meeting {
    let meeting = this.meetings.get(meetingId);
    if (!meeting) {
      const now = unixSeconds(new Date());
      meeting = {
        status: 'started',
        code: String(100_000_000 + this.meetings.size),
        scheduleStart: now,
        scheduleEnd: now + 3600,
        history: [],
        callouts: [],
        participants: new Map(),
      };
      this.meetings.set(meetingId, meeting);
    }
    return meeting;
  }

  /**
   * A participant already in the meeting stays as it is; one who left or was kicked joins again
   * afresh, at the end of the join order. Someone joining means the meeting runs again: Tencent
   * calls a meeting with anyone in it started.
   */
  private join(meeting: Meeting, entry: RosterEntry): void {
    if (meeting.participants.get(entry.msOpenId)?.connected) return;
    meeting.status = 'started';
    meeting.participants.delete(entry.msOpenId);
    meeting.participants.set(entry.msOpenId, {
      ...entry,
      connected: true,
      kicked: false,
      allowRejoin: null,
    });
  }
}

/** A phone caller's default name: its number with the middle hidden, never in clear. */
function maskedNumber(phoneNumber: string): string {
  return phoneNumber.length >= 7
    ? `${phoneNumber.slice(0, 3)}****${phoneNumber.slice(-4)}`
    : 'caller';
}

function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
