import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTencentHeaders } from '../src/tencent/tencent-request-signer';
import { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';

const credentials = { secretId: 'sid', secretKey: 'skey', appId: 'app' };

/** The fake must catch a badly signed request, or the suites' "no bad signature" proves nothing. */
describe('fake Tencent server', () => {
  const fake = new FakeTencentServer(credentials);
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await fake.start();
    fake.connect('m1', 86, '13800000000', 'id-1');
  });
  afterAll(() => fake.close());

  const call = (
    headers: Record<string, string>,
    body: string,
    uri = '/v1/meetings/m1/phone/ms-open-id',
  ) => fetch(`${baseUrl}${uri}`, { method: 'POST', headers, body });
  const body = JSON.stringify({
    operator_id: 'op',
    operator_id_type: 1,
    phone_numbers: [{ area: 86, phone_number: 13800000000 }],
  });
  const requestUri = '/v1/meetings/m1/phone/ms-open-id';

  it('answers a well-signed request for a connected number', async () => {
    const res = await call(
      buildTencentHeaders(credentials, { method: 'POST', requestUri, body }),
      body,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      meeting_id: 'm1',
      ms_open_id_list: [{ area: 86, phone_number: 13800000000, ms_open_id: 'id-1' }],
    });
  });

  it('rejects a wrong signature, a tampered body and a replayed nonce', async () => {
    const before = fake.badSignatureCount;
    const headers = buildTencentHeaders(
      { ...credentials, secretKey: 'wrong' },
      { method: 'POST', requestUri, body },
    );
    const forged = await call(headers, body);
    expect(forged.status).toBe(400);
    expect(
      ((await forged.json()) as { error_info: { error_code: number } }).error_info.error_code,
    ).toBe(200003);

    const good = buildTencentHeaders(credentials, { method: 'POST', requestUri, body });
    expect((await call(good, body.replace('13800000000', '13800000001'))).status).toBe(400);
    expect((await call(good, body)).status).toBe(200);
    const replay = await call(good, body);
    expect(
      ((await replay.json()) as { error_info: { error_code: number } }).error_info.error_code,
    ).toBe(190301);
    expect(fake.badSignatureCount).toBe(before + 3);
  });
});
