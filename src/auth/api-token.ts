import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits; a prefix makes a leaked token easy to recognise in a scan. */
export function generateApiToken(): string {
  return `pt_${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256 is enough for tokens with 256 bits of entropy: nothing to brute-force, and it keeps
 * authentication on the lookup hot path cheap.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
