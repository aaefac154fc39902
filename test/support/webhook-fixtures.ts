import { createCipheriv, randomUUID } from 'node:crypto';
import { computeWebhookSignature } from '../../src/webhook/webhook-signature';
import { aesKeyBytes } from '../../src/webhook/webhook-secrets';

export interface SignedDelivery {
  headers: Record<string, string>;
  data: string;
}

/** Encodes a plaintext the way Tencent does: base64, or AES-256-CBC then base64. */
export function encodeWebhookData(plaintext: string, encodingAesKey?: string): string {
  if (!encodingAesKey) return Buffer.from(plaintext, 'utf8').toString('base64');
  const key = aesKeyBytes(encodingAesKey);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

let nonceCounter = 1000;

/** Signs `data` with a fresh timestamp and nonce, as each Tencent delivery is. */
export function sign(token: string, data: string): Record<string, string> {
  const timestamp = String(Date.now());
  const nonce = String((nonceCounter += 1));
  return { timestamp, nonce, signature: computeWebhookSignature(token, timestamp, nonce, data) };
}

export function signedDelivery(token: string, plaintext: string, aesKey?: string): SignedDelivery {
  const data = encodeWebhookData(plaintext, aesKey);
  return { data, headers: sign(token, data) };
}

interface ItemOptions {
  meetingId?: string;
  msOpenId?: string;
  instanceId?: string | number;
  pstnNumber?: string;
  operateTime?: number | string;
  status?: string;
}

/** A current-shape Tencent Meeting event with one payload item. */
export function buildEvent(
  event: string,
  options: ItemOptions & { traceId?: string } = {},
): string {
  return JSON.stringify({
    event,
    trace_id: options.traceId ?? randomUUID(),
    payload: [buildItem(options)],
  });
}

export function buildItem(options: ItemOptions = {}): Record<string, unknown> {
  return {
    operate_time: options.operateTime ?? Date.now(),
    operator: {
      userid: '',
      open_id: '',
      uuid: '',
      ms_open_id: options.msOpenId ?? 'WMfgHRYj6m36mcDGtK',
      user_name: 'caller',
      instance_id: options.instanceId ?? '0',
      ...(options.pstnNumber ? { pstn_number: options.pstnNumber } : {}),
    },
    meeting_info: {
      meeting_id: options.meetingId ?? '13339451618278424869',
      meeting_code: '445999969',
      subject: 'weekly sync',
      creator: { userid: 'host-1', ms_open_id: 'HostMsOpenId', user_name: 'host' },
      meeting_type: 0,
      start_time: 1608522626,
      end_time: 1609415039,
      meeting_id_type: 0,
    },
    ...(options.status ? { status: options.status } : {}),
  };
}
