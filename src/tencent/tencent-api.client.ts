import { Injectable } from '@nestjs/common';
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  wrap,
} from 'cockatiel';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import { TencentApiError, TencentNetworkError } from './tencent-api.error';
import { buildTencentHeaders, type TencentCredentials } from './tencent-request-signer';
import { UpstreamRateLimiter, type UpstreamPurpose } from './upstream-rate-limiter';

export type AttemptOutcome = 'ok' | 'timeout' | 'network_error' | 'http_error' | 'tencent_error';

/** What one upstream attempt did. */
export interface UpstreamAttempt {
  outcome: AttemptOutcome;
  httpStatus: number | null;
  errorCode: number | null;
  newErrorCode: number | null;
  latencyMs: number;
}

export interface TencentCall {
  /** Names the endpoint in metrics: `ms-open-id`, `callout-list`, `mutes`... */
  endpoint: string;
  method: 'GET' | 'POST' | 'PUT';
  /** The path with its ids, without the query. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  purpose: UpstreamPurpose;
  /** False for a call that must not be made twice; such a call is attempted once. */
  retry?: boolean;
  /** Hears about every attempt, failed ones too. */
  onAttempt?: (attempt: UpstreamAttempt) => void;
}

const isRetryable = (error: unknown): boolean =>
  error instanceof TencentApiError ? error.retryable : !(error instanceof BrokenCircuitError);

/**
 * The one way to call Tencent's REST API: every attempt signed afresh (a new timestamp and
 * nonce), paced by the shared budget for its purpose, under a timeout; retried with jittered
 * exponential backoff on network errors, timeouts, 5xx and rate-limit codes when the call is
 * safe to repeat; and all of it behind one circuit breaker, since all of it is one upstream.
 */
@Injectable()
export class TencentApi {
  private readonly breaker = circuitBreaker(handleWhen(isRetryable), {
    halfOpenAfter: 10_000,
    breaker: new ConsecutiveBreaker(5),
  });
  private readonly retrying;
  private readonly credentials: TencentCredentials;
  /** The creator, host or co-host the service acts as. */
  readonly operator: { operator_id: string; operator_id_type: number };

  constructor(
    private readonly env: Env,
    private readonly limiter: UpstreamRateLimiter,
    private readonly metrics: Metrics,
  ) {
    metrics.gauge(
      'pstn_upstream_circuit_state',
      'Circuit breaker before Tencent: 0 closed, 1 open, 2 half-open',
      () => this.breaker.state,
    );
    this.credentials = {
      secretId: env.TENCENT_SECRET_ID,
      secretKey: env.TENCENT_SECRET_KEY,
      appId: env.TENCENT_APP_ID,
      sdkId: env.TENCENT_SDK_ID,
    };
    this.operator = {
      operator_id: env.TENCENT_OPERATOR_ID,
      operator_id_type: env.TENCENT_OPERATOR_ID_TYPE,
    };
    const retries = retry(handleWhen(isRetryable), {
      maxAttempts: env.TENCENT_MAX_ATTEMPTS - 1,
      backoff: new ExponentialBackoff({ initialDelay: 300, maxDelay: 10_000 }),
    });
    this.retrying = wrap(retries, this.breaker);
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  /** Calls `listener` each time the circuit closes again after Tencent failed. */
  onRecovered(listener: () => void): void {
    this.breaker.onReset(listener);
  }

  /** Makes the call and answers Tencent's parsed JSON; a failed answer is a TencentApiError. */
  call(call: TencentCall): Promise<unknown> {
    const policy = call.retry === false ? this.breaker : this.retrying;
    return policy.execute(() => this.attempt(call));
  }

  private async attempt(call: TencentCall): Promise<unknown> {
    await this.limiter.acquire(call.purpose);
    const query = call.query ? `?${new URLSearchParams(call.query).toString()}` : '';
    const requestUri = `${call.path}${query}`;
    const body = call.body === undefined ? '' : JSON.stringify(call.body);
    const started = performance.now();
    const report = (outcome: AttemptOutcome, extra: Partial<UpstreamAttempt> = {}) => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.upstreamCalls.inc({ endpoint: call.endpoint, purpose: call.purpose, outcome });
      this.metrics.upstreamDuration.observe({ endpoint: call.endpoint, outcome }, seconds);
      call.onAttempt?.({
        outcome,
        httpStatus: null,
        errorCode: null,
        newErrorCode: null,
        latencyMs: Math.round(seconds * 1000),
        ...extra,
      });
    };

    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.env.TENCENT_API_BASE_URL}${requestUri}`, {
        method: call.method,
        headers: buildTencentHeaders(this.credentials, {
          method: call.method,
          requestUri,
          body,
        }),
        body: body === '' ? undefined : body,
        signal: AbortSignal.timeout(this.env.TENCENT_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      report(timedOut ? 'timeout' : 'network_error');
      throw timedOut ? error : TencentNetworkError.from(error, this.env.TENCENT_API_BASE_URL);
    }
    if (!response.ok) {
      const error = TencentApiError.fromResponse(response.status, text);
      report(error.errorCode === null ? 'http_error' : 'tencent_error', {
        httpStatus: response.status,
        errorCode: error.errorCode,
        newErrorCode: error.newErrorCode,
      });
      throw error;
    }
    report('ok', { httpStatus: response.status });
    try {
      return text === '' ? {} : (JSON.parse(text) as unknown);
    } catch {
      throw new TencentApiError(response.status, null, null, `${call.endpoint} answer is not JSON`);
    }
  }
}
