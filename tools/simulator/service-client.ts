import { signedDelivery } from '../webhook-delivery';
import type { Line } from './scenario';

/** Where the service is and the secrets it was configured with. */
export interface ServiceTarget {
  baseUrl: string;
  /** A token with the admin scope (ADMIN_TOKEN): creates the simulator's API client. */
  adminToken: string;
  webhookToken: string;
  /** The EncodingAESKey; without one, webhooks are sent in plain base64. */
  aesKey?: string;
}

/** One item of the ms-open-id answer. */
export interface LookupItem {
  area: number | string;
  phone_number: number | string;
  ms_open_id: string;
  status: string;
}

/** One result of `POST .../phone-callers/actions`. */
export interface ActionItem {
  area?: number | string;
  phone_number?: number | string;
  ms_open_id?: string;
  outcome: 'done' | 'not_connected' | 'failed';
  error?: { code: string; message: string };
}

/** One phone caller of the pstn-participants answer. */
export interface ParticipantItem {
  ms_open_id: string;
  area: string | null;
  phone_number: string | null;
  status: string;
}

const WEBHOOK_PATH = '/webhooks/tencent-meeting';
const RECEIVED = 'successfully received callback';

/**
 * The service as Tencent (webhooks) and as a meeting-control client (lookups and actions on
 * callers) see it.
 */
export class ServiceClient {
  private clientToken = '';

  constructor(private readonly target: ServiceTarget) {}

  /**
   * Creates an API client with the lookup and control scopes, with the admin token; later
   * lookups and actions use its token.
   */
  async createApiClient(name = 'simulator'): Promise<void> {
    const body = await this.call<{ token: string }>('POST', '/admin/api-clients', {
      token: this.target.adminToken,
      body: { name, scopes: ['lookup', 'control'] },
    });
    this.clientToken = body.token;
  }

  /** Posts an event as Tencent does: encrypted, signed; a refusal is retried as Tencent would. */
  async deliver(plaintext: string): Promise<void> {
    let last = '';
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      // Each delivery is signed afresh (new timestamp and nonce).
      const { headers, data } = signedDelivery(
        this.target.webhookToken,
        plaintext,
        this.target.aesKey,
      );
      const res = await fetch(this.url(WEBHOOK_PATH), {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ data }),
      });
      const text = await res.text();
      if (res.status === 200 && text === RECEIVED) return;
      last = `${res.status} ${text.slice(0, 200)}`;
      if (res.status < 500) break;
      await sleep(200 * attempt);
    }
    throw new Error(`webhook refused: ${last}`);
  }

  /**
   * Registers the meeting's numbers. A meeting is known once its first webhook is applied,
   * which the queue does a moment after the 200: until then this answers 404, so it retries.
   */
  async registerNumbers(meetingId: string, lines: Line[], timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.call('PUT', `/v1/meetings/${meetingId}/tracked-numbers`, {
          body: { phone_numbers: lines.map(numberOf) },
        });
        return;
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 404) || Date.now() > deadline) {
          throw error;
        }
        await sleep(100);
      }
    }
  }

  /** `POST /v1/meetings/{id}/phone/ms-open-id`, Tencent's request shape. */
  async lookup(meetingId: string, lines: Line[]): Promise<LookupItem[]> {
    const body = await this.call<{ ms_open_id_list: LookupItem[] }>(
      'POST',
      `/v1/meetings/${meetingId}/phone/ms-open-id`,
      { body: { phone_numbers: lines.map(numberOf) } },
    );
    return body.ms_open_id_list;
  }

  /** `POST /v1/meetings/{id}/phone-callers/actions` with an Idempotency-Key; its results. */
  async act(meetingId: string, body: object, idempotencyKey: string): Promise<ActionItem[]> {
    const answer = await this.call<{ results: ActionItem[] }>(
      'POST',
      `/v1/meetings/${meetingId}/phone-callers/actions`,
      { body, headers: { 'idempotency-key': idempotencyKey } },
    );
    return answer.results;
  }

  /** `GET /v1/meetings/{id}/pstn-participants?status=all`. */
  async participants(meetingId: string): Promise<ParticipantItem[]> {
    const body = await this.call<{ participants: ParticipantItem[] }>(
      'GET',
      `/v1/meetings/${meetingId}/pstn-participants?status=all`,
    );
    return body.participants;
  }

  private async call<T = unknown>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const res = await fetch(this.url(path), {
      method,
      headers: {
        ...options.headers,
        authorization: `Bearer ${options.token ?? this.clientToken}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    if (!res.ok)
      throw new HttpError(res.status, `${method} ${routeOf(path)}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  private url(path: string): string {
    return new URL(path, this.target.baseUrl).toString();
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Digit strings: a JSON Number would drop the landline's trunk 0. */
function numberOf(line: Line) {
  return { area: line.area, phone_number: line.phoneNumber };
}

/** The path without the meeting id, for error messages. */
function routeOf(path: string): string {
  return path.replace(/\/meetings\/\d+/, '/meetings/{id}');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
