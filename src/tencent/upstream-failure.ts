import { BrokenCircuitError } from 'cockatiel';
import { TencentApiError, TencentNetworkError } from './tencent-api.error';

/** Why an upstream call failed, as an API answer names it: Tencent's error_code when it gave one. */
export interface UpstreamFailure {
  code: string;
  message: string;
}

/**
 * Names the failure of a TencentApi call. A Tencent answer carries its `error_code` (a string
 * here, as every error code of the API is); a failure Tencent never answered gets a code of
 * ours, prefixed `upstream_`. Anything else is a bug and is thrown again.
 */
export function describeUpstreamFailure(error: unknown): UpstreamFailure {
  if (error instanceof TencentApiError) {
    if (error.errorCode !== null) return { code: String(error.errorCode), message: error.message };
    return {
      code: error.httpStatus >= 400 ? `upstream_http_${error.httpStatus}` : 'upstream_bad_answer',
      message: error.message,
    };
  }
  if (error instanceof BrokenCircuitError) {
    return {
      code: 'upstream_unavailable',
      message: 'Tencent failed repeatedly just now; calls to it are paused for a few seconds',
    };
  }
  if (error instanceof TencentNetworkError) {
    return { code: 'upstream_unreachable', message: error.message };
  }
  if (error instanceof Error && error.name === 'TimeoutError') {
    return { code: 'upstream_timeout', message: 'Tencent did not answer in time' };
  }
  throw error;
}
