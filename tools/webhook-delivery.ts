import { createCipheriv } from 'node:crypto';
import { aesKeyBytes } from '../src/webhook/webhook-secrets';
import { computeWebhookSignature } from '../src/webhook/webhook-signature';

/** A webhook delivery as Tencent sends it: the three signature headers and the `data` field. */
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

let nonceCounter = 1000 + Math.floor(Math.random() * 1_000_000);

/** Signs `data` with a fresh timestamp and nonce, as each Tencent delivery is. */
export function sign(token: string, data: string): Record<string, string> {
  const timestamp = String(Date.now());
  const nonce = String((nonceCounter += 1));
  return { timestamp, nonce, signature: computeWebhookSignature(token, timestamp, nonce, data) };
}

/** Encodes and signs a plaintext event (AES-encrypted when a key is given). */
export function signedDelivery(token: string, plaintext: string, aesKey?: string): SignedDelivery {
  const data = encodeWebhookData(plaintext, aesKey);
  return { data, headers: sign(token, data) };
}
