import { Injectable } from '@nestjs/common';
import { Env } from '../config/env.schema';
import { toPhoneNumber } from '../lookup/phone-number.dto';
import type { PhoneNumber } from '../tencent/ms-open-id.client';
import { TencentApiError } from '../tencent/tencent-api.error';
import { buildTencentHeaders, type TencentCredentials } from '../tencent/tencent-request-signer';
import { UpstreamRateLimiter } from '../tencent/upstream-rate-limiter';

/** Tencent's largest page. */
const PAGE_SIZE = 100;

/** One outbound call of a meeting; `msOpenId` is null until Tencent gives the call one. */
export interface CalloutEntry extends PhoneNumber {
  msOpenId: string | null;
}

interface CalloutPage {
  entries: CalloutEntry[];
  totalPages: number;
}

/**
 * Tencent's `GET /v1/meeting/{id}/phone/callout` (singular `meeting`): every outbound call of a
 * meeting with its number and ms_open_id. Signed like every call and paced by the shared rate
 * limiter; not retried, since reconciliation asks again at its next tick.
 */
@Injectable()
export class CalloutListClient {
  private readonly credentials: TencentCredentials;

  constructor(
    private readonly env: Env,
    private readonly limiter: UpstreamRateLimiter,
  ) {
    this.credentials = {
      secretId: env.TENCENT_SECRET_ID,
      secretKey: env.TENCENT_SECRET_KEY,
      appId: env.TENCENT_APP_ID,
      sdkId: env.TENCENT_SDK_ID,
    };
  }

  async list(meetingId: string): Promise<CalloutEntry[]> {
    const entries: CalloutEntry[] = [];
    for (let page = 1; ; page += 1) {
      const answer = await this.page(meetingId, page);
      entries.push(...answer.entries);
      if (page >= answer.totalPages || answer.entries.length === 0) return entries;
    }
  }

  private async page(meetingId: string, page: number): Promise<CalloutPage> {
    await this.limiter.acquire();
    const query = new URLSearchParams({
      operator_id: this.env.TENCENT_OPERATOR_ID,
      operator_id_type: String(this.env.TENCENT_OPERATOR_ID_TYPE),
      page: String(page),
      page_size: String(PAGE_SIZE),
    });
    const requestUri = `/v1/meeting/${encodeURIComponent(meetingId)}/phone/callout?${query}`;
    const response = await fetch(`${this.env.TENCENT_API_BASE_URL}${requestUri}`, {
      method: 'GET',
      headers: buildTencentHeaders(this.credentials, { method: 'GET', requestUri, body: '' }),
      signal: AbortSignal.timeout(this.env.TENCENT_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) throw TencentApiError.fromResponse(response.status, text);
    return parseCalloutPage(text);
  }
}

/**
 * Reads `phone_numbers` (`area` a Number, `phone` a String in Tencent's doc; either name and
 * either type accepted, as for ms-open-id), kept as the service keeps every number. An empty
 * `ms_open_id` means the call has none yet. Extensions are dropped: a tracked number is area plus
 * main number.
 */
function parseCalloutPage(text: string): CalloutPage {
  let body: { phone_numbers?: unknown; total_page?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new TencentApiError(200, null, null, 'callout list answer is not JSON');
  }
  const list = Array.isArray(body.phone_numbers) ? (body.phone_numbers as unknown[]) : [];
  const entries = list.flatMap((raw) => {
    const item = (raw ?? {}) as Record<string, unknown>;
    const area = digits(item.area);
    const phoneNumber = digits(item.phone ?? item.phone_number);
    const msOpenId =
      typeof item.ms_open_id === 'string' && item.ms_open_id ? item.ms_open_id : null;
    if (!area || !phoneNumber) return [];
    return [{ ...toPhoneNumber({ area, phone_number: phoneNumber }), msOpenId }];
  });
  return { entries, totalPages: Number(body.total_page) || 1 };
}

function digits(value: unknown): string | null {
  const text = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
  return /^\d+$/.test(text) ? text : null;
}
