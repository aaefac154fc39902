import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FaultPlan, type Fault } from './fault-plan';
import { control, isControlEndpoint, namedTargets } from './meeting-control';
import {
  Meetings,
  type JoinOptions,
  type ParticipantView,
  type RosterEntry,
} from './meeting-state';
import { operatorRefusal } from './operator-check';
import { calloutPage, msOpenIds } from './phone-endpoints';
import { realTimeParticipants, type UnknownMeetingRoster } from './real-time-participants';
import { RequestSignatureCheck } from './request-signature';
import { errorAnswer, invalidParameters, type Answer, type Json } from './tencent-answer';
import { matchRoute, type FakeEndpoint, type RouteMatch } from './tencent-routes';

export type { Fault };

/**
 * A fake Tencent Meeting REST API: a real HTTP server that checks every request's X-TC-*
 * signature with its own code (written from Tencent's description, not shared with the
 * service), keeps its own truth of each meeting (who is in it now, and every ms_open_id each
 * number ever had), answers the ms-open-id lookup, the callout list and the live roster from
 * it, lets phone callers be muted, kicked and renamed, and can be told to fail, hang, answer
 * slowly or enforce Tencent's per-minute limit.
 */

export interface FakeTencentOptions {
  secretId: string;
  secretKey: string;
  appId: string;
  /** The SdkId Tencent assigned, if any; a request carrying another one fails with 190303. */
  sdkId?: string;
  /** Tencent's limit per app: calls in any 60-s window beyond this answer 190310. */
  ratePerMinute?: number;
  /** The meeting's host; when set, a request naming another operator answers 9042. */
  operatorId?: string;
  /** The roster's answer for a meeting the fake never heard of (default `init`). */
  unknownMeetingRoster?: UnknownMeetingRoster;
}

export interface RecordedRequest {
  method: string;
  path: string;
  meetingId: string | null;
  numbersAsked: number;
  status: number;
  time: number;
  /** The parsed JSON body, when the request had one. */
  body?: unknown;
  /** The ms_open_ids a mutes, kickout or names call named, whatever it was answered. */
  targets?: string[];
}

export class FakeTencentServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly signature: RequestSignatureCheck;
  private readonly meetings = new Meetings();
  private readonly faults: FaultPlan;
  private readonly inFlight = new Map<string, number>();
  private readonly maxInFlight = new Map<string, number>();
  private readonly hung = new Set<ServerResponse>();
  private latencyMs = 0;

  readonly requests: RecordedRequest[] = [];
  badSignatureCount = 0;
  rateLimitedCount = 0;

  constructor(private readonly options: FakeTencentOptions) {
    this.signature = new RequestSignatureCheck(options);
    this.faults = new FaultPlan(options.ratePerMinute);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens on `host` (loopback unless a container must reach it); answers its base URL. */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.releaseHung();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * A phone call to `area`/`phoneNumber` is connected in the meeting with this ms_open_id: the
   * number's history gains the id and the caller joins the live roster (not muted, named by its
   * masked number unless `nickName` is given).
   */
  connect(
    meetingId: string,
    area: number | string,
    phoneNumber: string,
    msOpenId: string,
    options: JoinOptions = {},
  ): void {
    this.meetings.connect(meetingId, { area: String(area), phoneNumber, msOpenId }, options);
  }

  /** The caller leaves the roster; the number's history keeps the id, as Tencent's does. */
  disconnect(meetingId: string, msOpenId: string): void {
    this.meetings.disconnect(meetingId, msOpenId);
  }

  /** A participant on an app (`instanceid` 1 PC, 3 Android, ...), not a phone caller. */
  joinApp(meetingId: string, msOpenId: string, instanceid = 1): void {
    this.meetings.joinApp(meetingId, msOpenId, instanceid);
  }

  /** The meeting ends: everyone leaves the roster. */
  endMeeting(meetingId: string): void {
    this.meetings.endMeeting(meetingId);
  }

  /** Who is in the meeting now, in join order. */
  roster(meetingId: string): RosterEntry[] {
    return this.meetings.roster(meetingId);
  }

  /** One participant as it stands, in the meeting or not; undefined if it never joined. */
  participant(meetingId: string, msOpenId: string): ParticipantView | undefined {
    return this.meetings.participant(meetingId, msOpenId);
  }

  /**
   * An outbound call of the meeting, listed by the callout endpoint; `msOpenId` is "" while the
   * call has none, `status` is Tencent's string (START_INVITE, START_ACCEPT, ...).
   */
  registerCallout(
    meetingId: string,
    area: number | string,
    phoneNumber: string,
    msOpenId: string,
    status: string,
  ): void {
    this.meetings.registerCallout(meetingId, {
      area: String(area),
      phoneNumber,
      msOpenId,
      status,
    });
  }

  /**
   * The next `times` calls (all calls when omitted) answer with this error; with `endpoint`,
   * only calls to that endpoint do, and the others answer as usual.
   */
  failWith(fault: Fault, times = Number.POSITIVE_INFINITY, endpoint?: FakeEndpoint): void {
    this.faults.failWith(fault, times, endpoint);
  }

  /** The next `times` calls never answer (until reset or close). */
  hang(times = Number.POSITIVE_INFINITY): void {
    this.faults.hang(times);
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  reset(): void {
    this.faults.clear();
    this.latencyMs = 0;
    this.releaseHung();
  }

  callsFor(meetingId: string): number {
    return this.requests.filter((r) => r.meetingId === meetingId).length;
  }

  /** The most calls for one meeting that were ever in flight at once. */
  maxConcurrentFor(meetingId: string): number {
    return this.maxInFlight.get(meetingId) ?? 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    const route = matchRoute(path);
    const meetingId = route?.meetingId ?? null;
    const record = (
      status: number,
      details: Pick<RecordedRequest, 'meetingId' | 'numbersAsked' | 'body' | 'targets'>,
    ) =>
      this.requests.push({ method: req.method ?? '', path, status, time: Date.now(), ...details });

    const authError = this.signature.check(req, url, body);
    if (authError) {
      this.badSignatureCount += 1;
      record(400, { meetingId: null, numbersAsked: 0 });
      return this.send(res, errorAnswer(400, authError, 'authentication failed'));
    }

    const parsed = body ? jsonObject(body) : {};
    if (!parsed) {
      record(400, { meetingId, numbersAsked: 0 });
      return this.send(res, invalidParameters());
    }
    const details = {
      meetingId,
      numbersAsked: askedNumbers(parsed).length,
      ...(body ? { body: parsed } : {}),
      ...(route && isControlEndpoint(route.endpoint)
        ? { targets: namedTargets(route.endpoint, parsed) }
        : {}),
    };
    const outcome = this.faults.take(route?.endpoint ?? null) ?? this.takeRateLimit();
    if (outcome === 'hang') {
      record(0, details);
      this.hung.add(res);
      return;
    }

    const key = meetingId ?? '';
    const current = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, current);
    this.maxInFlight.set(key, Math.max(current, this.maxInFlight.get(key) ?? 0));
    try {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      const answer = outcome
        ? errorAnswer(outcome.status, outcome.errorCode ?? null, outcome.message ?? 'fault')
        : this.answer(req.method ?? '', route, new URL(url, 'http://fake').searchParams, parsed);
      record(answer.status, details);
      return this.send(res, answer);
    } finally {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    }
  }

  private answer(
    method: string,
    route: RouteMatch | null,
    query: URLSearchParams,
    body: Json,
  ): Answer {
    if (!route || method !== route.method) return errorAnswer(404, null, 'no such endpoint');
    const named = route.method === 'GET' ? query.get('operator_id') : body.operator_id;
    const refusal = operatorRefusal(this.options.operatorId, named);
    if (refusal) return refusal;
    const { endpoint, meetingId } = route;
    switch (endpoint) {
      case 'ms-open-id':
        return { status: 200, body: msOpenIds(this.meetings, meetingId, askedNumbers(body)) };
      case 'callout': {
        const page = calloutPage(this.meetings, meetingId, query);
        return page ? { status: 200, body: page } : invalidParameters();
      }
      case 'real-time-participants':
        return realTimeParticipants(
          this.meetings,
          meetingId,
          query,
          this.options.unknownMeetingRoster ?? 'init',
        );
      case 'mutes':
      case 'kickout':
      case 'names':
        return control(this.meetings, meetingId, endpoint, body);
    }
  }

  private takeRateLimit(): Fault | null {
    const limited = this.faults.takeRateLimit();
    if (limited) this.rateLimitedCount += 1;
    return limited;
  }

  private send(res: ServerResponse, answer: Answer): void {
    res
      .writeHead(answer.status, { 'content-type': 'application/json' })
      .end(JSON.stringify(answer.body));
  }

  private releaseHung(): void {
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }
}

/** The body as a JSON object, or null for anything else: every Tencent body is an object. */
function jsonObject(body: string): Json | null {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Json)
      : null;
  } catch {
    return null;
  }
}

function askedNumbers(body: Json): Json[] {
  return Array.isArray(body.phone_numbers) ? (body.phone_numbers as Json[]) : [];
}
