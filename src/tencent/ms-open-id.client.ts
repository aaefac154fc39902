import { Injectable } from '@nestjs/common';
import { Env } from '../config/env.schema';
import { toPhoneNumber, type PhoneNumber } from './phone-number';
import { TencentApi, type UpstreamAttempt } from './tencent-api.client';
import type { UpstreamPurpose } from './upstream-rate-limiter';

export interface MsOpenIdEntry extends PhoneNumber {
  msOpenId: string;
}

/**
 * Tencent's `POST /v1/meetings/{id}/phone/ms-open-id`: the ms_open_ids of connected calls from
 * these numbers, past ids included. Safe to repeat, so it is retried.
 */
@Injectable()
export class MsOpenIdClient {
  constructor(
    private readonly env: Env,
    private readonly api: TencentApi,
  ) {}

  async lookup(
    meetingId: string,
    numbers: PhoneNumber[],
    purpose: UpstreamPurpose,
    onAttempt: (attempt: UpstreamAttempt) => void,
  ): Promise<MsOpenIdEntry[]> {
    const field = this.env.TENCENT_PHONE_FIELD;
    const answer = await this.api.call({
      endpoint: 'ms-open-id',
      method: 'POST',
      path: `/v1/meetings/${encodeURIComponent(meetingId)}/phone/ms-open-id`,
      purpose,
      onAttempt,
      body: {
        ...this.api.operator,
        // The endpoint spec types both as Number; Tencent's newer doc has `phone` as a String.
        phone_numbers: numbers.map((n) => ({
          area: Number(n.area),
          [field]: field === 'phone' ? n.phoneNumber : Number(n.phoneNumber),
        })),
      },
    });
    return parseMsOpenIdList(answer);
  }
}

/** Reads `ms_open_id_list`, accepting `phone_number` or `phone`, as number or string. */
export function parseMsOpenIdList(answer: unknown): MsOpenIdEntry[] {
  const list = (answer as { ms_open_id_list?: unknown } | null)?.ms_open_id_list;
  if (!Array.isArray(list)) return [];
  return list.flatMap((raw) => {
    const item = (raw ?? {}) as Record<string, unknown>;
    const number = toPhoneNumber(item.area, item.phone_number ?? item.phone);
    const msOpenId =
      typeof item.ms_open_id === 'string' && item.ms_open_id ? item.ms_open_id : null;
    return number && msOpenId ? [{ ...number, msOpenId }] : [];
  });
}
