import { Injectable } from '@nestjs/common';
import { toPhoneNumber, type PhoneNumber } from './phone-number';
import { TencentApi } from './tencent-api.client';

/** Tencent's largest page. */
const PAGE_SIZE = 100;

/** One outbound call of a meeting; `msOpenId` is null until Tencent gives the call one. */
export interface CalloutEntry extends PhoneNumber {
  msOpenId: string | null;
}

/**
 * Tencent's `GET /v1/meeting/{id}/phone/callout` (singular `meeting`): every outbound call of a
 * meeting with its number and ms_open_id. Not retried: reconciliation asks again at its next
 * tick.
 */
@Injectable()
export class CalloutListClient {
  constructor(private readonly api: TencentApi) {}

  async list(meetingId: string): Promise<CalloutEntry[]> {
    const entries: CalloutEntry[] = [];
    for (let page = 1; ; page += 1) {
      const answer = await this.api.call({
        endpoint: 'callout-list',
        method: 'GET',
        path: `/v1/meeting/${encodeURIComponent(meetingId)}/phone/callout`,
        query: {
          operator_id: this.api.operator.operator_id,
          operator_id_type: String(this.api.operator.operator_id_type),
          page: String(page),
          page_size: String(PAGE_SIZE),
        },
        purpose: 'reconcile',
        retry: false,
      });
      const { entries: found, totalPages } = parseCalloutPage(answer);
      entries.push(...found);
      if (page >= totalPages || found.length === 0) return entries;
    }
  }
}

/**
 * Reads `phone_numbers` (`area` a Number, `phone` a String in Tencent's doc; either name and
 * either type accepted, as for ms-open-id). An empty `ms_open_id` means the call has none yet.
 * Extensions are dropped: a tracked number is area plus main number.
 */
function parseCalloutPage(answer: unknown): { entries: CalloutEntry[]; totalPages: number } {
  const body = (answer ?? {}) as { phone_numbers?: unknown; total_page?: unknown };
  const list = Array.isArray(body.phone_numbers) ? (body.phone_numbers as unknown[]) : [];
  const entries = list.flatMap((raw) => {
    const item = (raw ?? {}) as Record<string, unknown>;
    const number = toPhoneNumber(item.area, item.phone ?? item.phone_number);
    const msOpenId =
      typeof item.ms_open_id === 'string' && item.ms_open_id ? item.ms_open_id : null;
    return number ? [{ ...number, msOpenId }] : [];
  });
  return { entries, totalPages: Number(body.total_page) || 1 };
}
