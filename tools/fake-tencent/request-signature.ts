import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface SignatureCredentials {
  secretId: string;
  secretKey: string;
  appId: string;
  sdkId?: string;
}

/**
 * Checks the X-TC-* signature of a request the way Tencent describes it, with its own code
 * rather than the service's signer, so that a signing bug cannot hide behind a shared one.
 */
export class RequestSignatureCheck {
  /** "timestamp:nonce" pairs seen in the last 5 minutes: a replay fails with 190301. */
  private readonly seenNonces = new Map<string, number>();

  constructor(private readonly credentials: SignatureCredentials) {}

  /** Tencent's error code for a badly signed request, or null when it is well signed. */
  check(req: IncomingMessage, url: string, body: string): number | null {
    const header = (name: string) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    };
    const key = header('X-TC-Key');
    const timestamp = header('X-TC-Timestamp');
    const nonce = header('X-TC-Nonce');
    const signature = header('X-TC-Signature');
    if (key !== this.credentials.secretId || header('AppId') !== this.credentials.appId) {
      return 190303;
    }
    if (header('SdkId') !== this.credentials.sdkId) return 190303;
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
    const hex = createHmac('sha256', this.credentials.secretKey).update(stringToSign).digest('hex');
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
}
