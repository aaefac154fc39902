import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fake Tencent Meeting REST API: a real HTTP server that checks every request's X-TC-*
 * signature with its own code (written from Tencent's description, not shared with the
 * service), answers ms-open-id only for calls it was told are connected, lists the outbound
 * calls it was told of, and can be told to fail, hang, answer slowly or enforce Tencent's
 * per-minute limit.
 */

export interface FakeTencentOptions {
  secretId: string;
  secretKey: string;
  appId: string;
  /** The SdkId Tencent assigned, if any; a request carrying another one fails with 190303. */
  sdkId?: string;
  /** Tencent's limit per app: calls in any 60-s window beyond this answer 190310. */
  ratePerMinute?: number;
}

export interface Fault {
  status: number;
  errorCode?: number;
  message?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  meetingId: string | null;
  numbersAsked: number;
  status: number;
  time: number;
}

interface Connection {
  area: string;
  phoneNumber: string;
  msOpenId: string;
}

type Json = Record<string, unknown>;

const MS_OPEN_ID_PATH = /^\/v1\/meetings\/([^/]+)\/phone\/ms-open-id$/;
const CALLOUT_PATH = /^\/v1\/meeting\/([^/]+)\/phone\/callout$/;

export class FakeTencentServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Every id a number ever had per meeting: Tencent answers history too. */
  private readonly connections = new Map<string, Connection[]>();
  private readonly callouts = new Map<string, (Connection & { status: string })[]>();
  private readonly seenNonces = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly maxInFlight = new Map<string, number>();
  private readonly hung = new Set<ServerResponse>();
  private faults: { fault: Fault; remaining: number }[] = [];
  private hangs = 0;
  private latencyMs = 0;
  private recent: number[] = [];

  readonly requests: RecordedRequest[] = [];
  badSignatureCount = 0;
  rateLimitedCount = 0;

  constructor(private readonly options: FakeTencentOptions) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.releaseHung();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A phone call to `area`/`phoneNumber` is connected in the meeting with this ms_open_id. */
  connect(meetingId: string, area: number | string, phoneNumber: string, msOpenId: string): void {
    const list = this.connections.get(meetingId) ?? [];
    list.push({ area: String(area), phoneNumber, msOpenId });
    this.connections.set(meetingId, list);
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
    const list = this.callouts.get(meetingId) ?? [];
    list.push({ area: String(area), phoneNumber, msOpenId, status });
    this.callouts.set(meetingId, list);
  }

  /** The next `times` calls (all calls when omitted) answer with this error. */
  failWith(fault: Fault, times = Number.POSITIVE_INFINITY): void {
    this.faults.push({ fault, remaining: times });
  }

  /** The next `times` calls never answer (until reset or close). */
  hang(times = Number.POSITIVE_INFINITY): void {
    this.hangs = times;
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  reset(): void {
    this.faults = [];
    this.hangs = 0;
    this.latencyMs = 0;
    this.releaseHung();
  }

  callsFor(meetingId: string): number {
    return this.requests.filter((r) => r.meetingId === meetingId).length;
  }

  /** The most ms-open-id calls for one meeting that were ever in flight at once. */
  maxConcurrentFor(meetingId: string): number {
    return this.maxInFlight.get(meetingId) ?? 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    const record = (meetingId: string | null, numbersAsked: number, status: number) =>
      this.requests.push({
        method: req.method ?? '',
        path,
        meetingId,
        numbersAsked,
        status,
        time: Date.now(),
      });

    const authError = this.checkSignature(req, url, body);
    if (authError) {
      this.badSignatureCount += 1;
      record(null, 0, 400);
      return this.error(res, 400, authError, 'authentication failed');
    }

    const msOpenId = MS_OPEN_ID_PATH.exec(path);
    const callout = CALLOUT_PATH.exec(path);
    const meetingId = decodeURIComponent((msOpenId ?? callout)?.[1] ?? '') || null;
    let parsed: Json;
    try {
      parsed = body ? (JSON.parse(body) as Json) : {};
    } catch {
      record(meetingId, 0, 400);
      return this.error(res, 400, 190004, 'invalid parameters');
    }
    const asked = Array.isArray(parsed.phone_numbers) ? (parsed.phone_numbers as Json[]) : [];
    const outcome = this.takeFault() ?? this.takeRateLimit();
    if (outcome === 'hang') {
      record(meetingId, asked.length, 0);
      this.hung.add(res);
      return;
    }

    const key = meetingId ?? '';
    const current = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, current);
    this.maxInFlight.set(key, Math.max(current, this.maxInFlight.get(key) ?? 0));
    try {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      if (outcome) {
        record(meetingId, asked.length, outcome.status);
        return this.error(
          res,
          outcome.status,
          outcome.errorCode ?? null,
          outcome.message ?? 'fault',
        );
      }
      if (req.method === 'POST' && msOpenId) {
        record(meetingId, asked.length, 200);
        return this.json(res, 200, this.msOpenIds(key, asked));
      }
      if (req.method === 'GET' && callout) {
        const page = this.calloutPage(key, new URL(url, 'http://fake').searchParams);
        record(meetingId, 0, page ? 200 : 400);
        return page
          ? this.json(res, 200, page)
          : this.error(res, 400, 190004, 'invalid parameters');
      }
      record(meetingId, 0, 404);
      return this.error(res, 404, null, 'no such endpoint');
    } finally {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    }
  }

  /** Tencent's error code for a badly signed request, or null when it is well signed. */
  private checkSignature(req: IncomingMessage, url: string, body: string): number | null {
    const header = (name: string) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    };
    const key = header('X-TC-Key');
    const timestamp = header('X-TC-Timestamp');
    const nonce = header('X-TC-Nonce');
    const signature = header('X-TC-Signature');
    if (key !== this.options.secretId || header('AppId') !== this.options.appId) return 190303;
    if (header('SdkId') !== this.options.sdkId) return 190303;
    if (
      !timestamp ||
      !nonce ||
      !signature ||
      !/^\d+$/.test(timestamp) ||
      !/^[1-9]\d*$/.test(nonce)
    ) {
      return 200003;
    }
    const stringToSign = `${req.method}\nX-TC-Key=${key}&X-TC-Nonce=${nonce}&X-TC-Timestamp=${timestamp}\n${url}\n${body}`;
    const hex = createHmac('sha256', this.options.secretKey).update(stringToSign).digest('hex');
    const expected = Buffer.from(Buffer.from(hex).toString('base64'));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 200003;
    const now = Date.now();
    if (Math.abs(now / 1000 - Number(timestamp)) > 300) return 190300;
    const pair = `${timestamp}:${nonce}`;
    if ((this.seenNonces.get(pair) ?? 0) > now - 300_000) return 190301;
    this.seenNonces.set(pair, now);
    return null;
  }

  private takeFault(): Fault | 'hang' | null {
    if (this.hangs > 0) {
      this.hangs -= 1;
      return 'hang';
    }
    const next = this.faults[0];
    if (!next) return null;
    next.remaining -= 1;
    if (next.remaining <= 0) this.faults.shift();
    return next.fault;
  }

  private takeRateLimit(): Fault | null {
    const limit = this.options.ratePerMinute;
    if (!limit) return null;
    const now = Date.now();
    this.recent = this.recent.filter((time) => time > now - 60_000);
    if (this.recent.length >= limit) {
      this.rateLimitedCount += 1;
      return { status: 400, errorCode: 190310, message: 'rate limit exceeded' };
    }
    this.recent.push(now);
    return null;
  }

  private msOpenIds(meetingId: string, asked: Json[]): Json {
    const list = asked.flatMap((item) => {
      const field = 'phone' in item ? 'phone' : 'phone_number';
      const area = String(item.area);
      const number = String(item[field]);
      return (this.connections.get(meetingId) ?? [])
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
  private calloutPage(meetingId: string, query: URLSearchParams): Json | null {
    const required = ['operator_id', 'operator_id_type', 'page', 'page_size'];
    if (required.some((name) => !query.get(name))) return null;
    const page = Number(query.get('page'));
    const pageSize = Number(query.get('page_size'));
    if (!(page >= 1) || !(pageSize >= 1 && pageSize <= 100)) return null;
    const all = this.callouts.get(meetingId) ?? [];
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

  private error(res: ServerResponse, status: number, code: number | null, message: string): void {
    this.json(res, status, { error_info: { error_code: code, new_error_code: code, message } });
  }

  private json(res: ServerResponse, status: number, body: Json): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private releaseHung(): void {
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }
}

function trimZeros(digits: string): string {
  return digits.replace(/^0+/, '');
}
