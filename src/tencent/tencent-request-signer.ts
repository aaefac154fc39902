import { createHmac, randomInt } from 'node:crypto';

export interface SignatureInput {
  secretId: string;
  secretKey: string;
  method: string;
  /** Path plus "?" and the raw query, byte-identical to the request line. */
  requestUri: string;
  /** The exact body bytes sent; "" when there is none. */
  body: string;
  /** Unix seconds. */
  timestamp: string;
  nonce: string;
}

/** X-TC-Signature: base64 of the lowercase hex HMAC-SHA256 (the hex string, not the digest). */
export function signTencentRequest(input: SignatureInput): string {
  const stringToSign = [
    input.method.toUpperCase(),
    `X-TC-Key=${input.secretId}&X-TC-Nonce=${input.nonce}&X-TC-Timestamp=${input.timestamp}`,
    input.requestUri,
    input.body,
  ].join('\n');
  const hex = createHmac('sha256', input.secretKey).update(stringToSign).digest('hex');
  return Buffer.from(hex, 'utf8').toString('base64');
}

export interface TencentCredentials {
  secretId: string;
  secretKey: string;
  appId: string;
  /** Only when Tencent assigned one: an unassigned SdkId fails with 190303. */
  sdkId?: string;
}

/** Every header of one attempt, with a fresh timestamp and nonce (a reused pair fails: 190301). */
export function buildTencentHeaders(
  credentials: TencentCredentials,
  request: { method: string; requestUri: string; body: string },
): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(randomInt(1, 2 ** 31 - 1));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'X-TC-Key': credentials.secretId,
    'X-TC-Timestamp': timestamp,
    'X-TC-Nonce': nonce,
    'X-TC-Signature': signTencentRequest({ ...credentials, ...request, timestamp, nonce }),
    'X-TC-Registered': '1',
    AppId: credentials.appId,
  };
  if (credentials.sdkId) headers.SdkId = credentials.sdkId;
  return headers;
}
