import { BrokenCircuitError } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { TencentApiError, TencentNetworkError } from './tencent-api.error';
import { describeUpstreamFailure } from './upstream-failure';

describe('describeUpstreamFailure', () => {
  it("names Tencent's error_code when it answered one, else what went wrong", () => {
    expect(
      describeUpstreamFailure(new TencentApiError(400, 9042, 500012, 'no permission')),
    ).toEqual({
      code: '9042',
      message: 'no permission',
    });
    expect(describeUpstreamFailure(new TencentApiError(502, null, null, 'HTTP 502'))).toEqual({
      code: 'upstream_http_502',
      message: 'HTTP 502',
    });
    expect(describeUpstreamFailure(new TencentApiError(200, null, null, 'not JSON')).code).toBe(
      'upstream_bad_answer',
    );
    expect(describeUpstreamFailure(new BrokenCircuitError()).code).toBe('upstream_unavailable');
    expect(
      describeUpstreamFailure(new TencentNetworkError('Tencent unreachable: ECONNREFUSED')),
    ).toEqual({ code: 'upstream_unreachable', message: 'Tencent unreachable: ECONNREFUSED' });
    const timeout = new DOMException('The operation timed out.', 'TimeoutError');
    expect(describeUpstreamFailure(timeout)).toEqual({
      code: 'upstream_timeout',
      message: 'Tencent did not answer in time',
    });
  });

  it('throws anything else again: it is a bug, not an upstream failure', () => {
    const bug = new TypeError('x is undefined');
    expect(() => describeUpstreamFailure(bug)).toThrow(bug);
  });
});
