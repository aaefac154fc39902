import { describe, expect, it } from 'vitest';
import { parseMsOpenIdList } from './ms-open-id.client';
import { TencentApiError } from './tencent-api.error';

describe('parseMsOpenIdList', () => {
  it('reads phone_number or phone, as number or string, into digit strings', () => {
    const answer = {
      meeting_id: '1',
      ms_open_id_list: [
        { area: 86, phone_number: 13888888888, ms_open_id: 'a' },
        { area: '86', phone: '01012345678', ms_open_id: 'b' },
        { area: 86, phone_number: 'not digits', ms_open_id: 'c' },
      ],
    };
    expect(parseMsOpenIdList(answer)).toEqual([
      { area: '86', phoneNumber: '13888888888', msOpenId: 'a' },
      { area: '86', phoneNumber: '1012345678', msOpenId: 'b' },
    ]);
    expect(parseMsOpenIdList({ meeting_id: '1' })).toEqual([]);
  });
});

describe('TencentApiError', () => {
  it('parses error_info and tells retryable codes from final ones', () => {
    const limited = TencentApiError.fromResponse(
      400,
      '{"error_info":{"error_code":190310,"new_error_code":500125,"message":"limit"}}',
    );
    expect(limited).toMatchObject({ errorCode: 190310, newErrorCode: 500125, message: 'limit' });
    expect(limited.retryable).toBe(true);
    for (const code of [190004, 9042, 190457, 200003]) {
      const body = JSON.stringify({ error_info: { error_code: code, message: 'x' } });
      expect(TencentApiError.fromResponse(400, body).retryable).toBe(false);
    }
    expect(TencentApiError.fromResponse(502, '<html>bad gateway</html>')).toMatchObject({
      httpStatus: 502,
      errorCode: null,
      retryable: true,
    });
  });
});
