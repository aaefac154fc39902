import { createHash, timingSafeEqual } from 'node:crypto';
import type { WebhookSecret } from './webhook-secrets';

export interface SignatureHeaders {
  timestamp: string;
  nonce: string;
  signature: string;
}

/** sha1 over the byte-wise sorted concatenation of token, timestamp, nonce and the raw data. */
export function computeWebhookSignature(
  token: string,
  timestamp: string,
  nonce: string,
  data: string,
): string {
  const parts = [token, timestamp, nonce, data].map((part) => Buffer.from(part, 'utf8'));
  parts.sort((a, b) => Buffer.compare(a, b));
  return createHash('sha1').update(Buffer.concat(parts)).digest('hex');
}

/**
 * The configured secret whose token signed `data`, or null. Every token is tried (rotation),
 * each comparison in constant time.
 */
export function findSigningSecret(
  secrets: readonly WebhookSecret[],
  headers: SignatureHeaders,
  data: string,
): WebhookSecret | null {
  const given = Buffer.from(headers.signature.toLowerCase(), 'utf8');
  let match: WebhookSecret | null = null;
  for (const secret of secrets) {
    const expected = Buffer.from(
      computeWebhookSignature(secret.token, headers.timestamp, headers.nonce, data),
      'utf8',
    );
    if (given.length === expected.length && timingSafeEqual(given, expected) && !match) {
      match = secret;
    }
  }
  return match;
}
