import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTencentHeaders, signTencentRequest } from './tencent-request-signer';

const { rest_signature: v } = JSON.parse(
  readFileSync(join(__dirname, '../../test/fixtures/vectors.json'), 'utf8'),
) as {
  rest_signature: Record<
    | 'secret_id'
    | 'secret_key'
    | 'method'
    | 'nonce'
    | 'timestamp'
    | 'uri'
    | 'body'
    | 'hmac_hex'
    | 'signature',
    string
  >;
};

describe('Tencent REST request signing', () => {
  it('matches the test vector (base64 of the hex HMAC string)', () => {
    const signature = signTencentRequest({
      secretId: v.secret_id,
      secretKey: v.secret_key,
      method: v.method,
      requestUri: v.uri,
      body: v.body,
      timestamp: v.timestamp,
      nonce: v.nonce,
    });
    expect(Buffer.from(signature, 'base64').toString('utf8')).toBe(v.hmac_hex);
    expect(signature).toBe(v.signature);
  });

  it('uses a fresh nonce per attempt and sends SdkId only when configured', () => {
    const credentials = { secretId: 'id', secretKey: 'key', appId: 'app' };
    const request = { method: 'POST', requestUri: '/v1/x', body: '{}' };
    const first = buildTencentHeaders(credentials, request);
    const second = buildTencentHeaders(credentials, request);
    expect(first['X-TC-Nonce']).not.toBe(second['X-TC-Nonce']);
    expect(first['X-TC-Signature']).not.toBe(second['X-TC-Signature']);
    expect(first).toMatchObject({ AppId: 'app', 'X-TC-Key': 'id', 'X-TC-Registered': '1' });
    expect(Math.abs(Number(first['X-TC-Timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(first).not.toHaveProperty('SdkId');
    expect(buildTencentHeaders({ ...credentials, sdkId: 'sdk' }, request).SdkId).toBe('sdk');
  });
});
