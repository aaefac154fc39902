import type { MethodResponse } from 'openapi-fetch';
import {
  createPstnTrackerClient,
  unwrap,
  type LookupItem,
  type PstnTrackerApi,
  type PstnTrackerClient,
} from '../../clients/typescript/src';
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

/** One phone caller of the pstn-participants answer. */
export type ParticipantItem = NonNullable<
  MethodResponse<
    PstnTrackerApi,
    'get',
    '/v1/meetings/{meetingId}/pstn-participants'
  >['participants']
>[number];

const WEBHOOK_PATH = '/webhooks/tencent-meeting';
const RECEIVED = 'successfully received callback';

/**
 * The service as Tencent (webhooks, which the service's API document leaves out) and as a
 * meeting-control client sees it: lookups and actions go through the typed client
 * (clients/typescript), the one other services use.
 */
export class ServiceClient {
  private typed: PstnTrackerClient | undefined;

  constructor(private readonly target: ServiceTarget) {}

  /**
   * Creates an API client with the lookup and control scopes, with the admin token; `api`
   * then acts with its token.
   */
  async createApiClient(name = 'simulator'): Promise<void> {
    const { baseUrl, adminToken } = this.target;
    const admin = createPstnTrackerClient({ baseUrl, token: adminToken });
    const { token } = await unwrap(
      admin.POST('/admin/api-clients', { body: { name, scopes: ['lookup', 'control'] } }),
    );
    if (!token) throw new Error('POST /admin/api-clients answered no token');
    this.typed = createPstnTrackerClient({ baseUrl, token });
  }

  /** The typed client, with the token of the API client createApiClient made. */
  get api(): PstnTrackerClient {
    if (!this.typed) throw new Error('createApiClient() has not run');
    return this.typed;
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
      const res = await fetch(new URL(WEBHOOK_PATH, this.target.baseUrl), {
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

  /** Registers the meeting's numbers, before or after the service has heard of the meeting. */
  async registerNumbers(meetingId: string, lines: Line[]): Promise<void> {
    await unwrap(
      this.api.PUT('/v1/meetings/{meetingId}/tracked-numbers', {
        params: { path: { meetingId } },
        body: { phone_numbers: lines.map(numberOf) },
      }),
    );
  }

  /** `POST /v1/meetings/{id}/phone/ms-open-id`, Tencent's request shape. */
  async lookup(meetingId: string, lines: Line[]): Promise<LookupItem[]> {
    const answer = await unwrap(
      this.api.POST('/v1/meetings/{meetingId}/phone/ms-open-id', {
        params: { path: { meetingId } },
        body: { phone_numbers: lines.map(numberOf) },
      }),
    );
    return answer.ms_open_id_list ?? [];
  }

  /** `GET /v1/meetings/{id}/pstn-participants?status=all`. */
  async participants(meetingId: string): Promise<ParticipantItem[]> {
    const answer = await unwrap(
      this.api.GET('/v1/meetings/{meetingId}/pstn-participants', {
        params: { path: { meetingId }, query: { status: 'all' } },
      }),
    );
    return answer.participants ?? [];
  }
}

/** Digit strings: a JSON Number would drop the landline's trunk 0. */
export function numberOf(line: Line) {
  return { area: line.area, phone_number: line.phoneNumber };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
