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
import { TencentApiError } from './tencent-api.error';
import { buildTencentHeaders, type TencentCredentials } from './tencent-request-signer';
import { UpstreamRateLimiter } from './upstream-rate-limiter';

/** A phone number as the service keeps it: digit strings (a Number would drop leading zeros). */
export interface PhoneNumber {
  area: string;
  phoneNumber: string;
}

export interface MsOpenIdEntry extends PhoneNumber {
  msOpenId: string;
}

export type AttemptOutcome = 'ok' | 'timeout' | 'network_error' | 'http_error' | 'tencent_error';

/** What one upstream attempt did; never which numbers were asked. */
export interface UpstreamAttempt {
  numbersAsked: number;
  idsReturned: number;
  outcome: AttemptOutcome;
  httpStatus: number | null;
  errorCode: number | null;
  newErrorCode: number | null;
  latencyMs: number;
}

const isRetryable = (error: Error): boolean =>
  error instanceof TencentApiError ? error.retryable : !(error instanceof BrokenCircuitError);

/**
 * Tencent's `POST /v1/meetings/{id}/phone/ms-open-id`: signed afresh for every attempt, paced
 * by the shared rate limiter, each attempt under a timeout, retried with jittered exponential
 * backoff on network errors, timeouts, 5xx and rate-limit codes, behind a circuit breaker.
 */
@Injectable()
export class MsOpenIdClient {
  private readonly breaker = circuitBreaker(handleWhen(isRetryable), {
    halfOpenAfter: 10_000,
    breaker: new ConsecutiveBreaker(5),
  });
  private readonly policy;
  private readonly credentials: TencentCredentials;

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
    const retries = retry(handleWhen(isRetryable), {
      maxAttempts: env.TENCENT_MAX_ATTEMPTS - 1,
      backoff: new ExponentialBackoff({ initialDelay: 300, maxDelay: 10_000 }),
    });
    this.policy = wrap(retries, this.breaker);
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  /** Calls `listener` each time the circuit closes again after Tencent failed. */
  onRecovered(listener: () => void): void {
    this.breaker.onReset(listener);
  }

  /**
   * The ms_open_ids Tencent knows for these numbers in this meeting (connected calls only, past
   * ids included). `onAttempt` hears about every attempt, failed ones too.
   */
  lookup(
    meetingId: string,
    numbers: PhoneNumber[],
    onAttempt: (attempt: UpstreamAttempt) => void,
  ): Promise<MsOpenIdEntry[]> {
    return this.policy.execute(() => this.attempt(meetingId, numbers, onAttempt));
  }

  private async attempt(
    meetingId: string,
    numbers: PhoneNumber[],
    onAttempt: (attempt: UpstreamAttempt) => void,
  ): Promise<MsOpenIdEntry[]> {
    await this.limiter.acquire();
    const requestUri = `/v1/meetings/${encodeURIComponent(meetingId)}/phone/ms-open-id`;
    const body = JSON.stringify(this.requestBody(numbers));
    const started = performance.now();
    const report = (outcome: AttemptOutcome, extra: Partial<UpstreamAttempt> = {}) => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.upstreamCalls.inc({ outcome });
      this.metrics.upstreamDuration.observe({ outcome }, seconds);
      onAttempt({
        numbersAsked: numbers.length,
        idsReturned: 0,
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
        method: 'POST',
        headers: buildTencentHeaders(this.credentials, { method: 'POST', requestUri, body }),
        body,
        signal: AbortSignal.timeout(this.env.TENCENT_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      report((error as Error).name === 'TimeoutError' ? 'timeout' : 'network_error');
      throw error;
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
    const entries = parseMsOpenIdList(text);
    report('ok', { httpStatus: response.status, idsReturned: entries.length });
    return entries;
  }

  private requestBody(numbers: PhoneNumber[]): Record<string, unknown> {
    const field = this.env.TENCENT_PHONE_FIELD;
    return {
      operator_id: this.env.TENCENT_OPERATOR_ID,
      operator_id_type: this.env.TENCENT_OPERATOR_ID_TYPE,
      // The endpoint spec types both as Number; Tencent's newer doc has `phone` as a String.
      phone_numbers: numbers.map((n) => ({
        area: Number(n.area),
        [field]: field === 'phone' ? n.phoneNumber : Number(n.phoneNumber),
      })),
    };
  }
}

/** Reads `ms_open_id_list`, accepting `phone_number` or `phone`, as number or string. */
export function parseMsOpenIdList(text: string): MsOpenIdEntry[] {
  let list: unknown;
  try {
    list = (JSON.parse(text) as { ms_open_id_list?: unknown }).ms_open_id_list ?? [];
  } catch {
    throw new TencentApiError(200, null, null, 'ms-open-id answer is not JSON');
  }
  if (!Array.isArray(list)) return [];
  const entries: MsOpenIdEntry[] = [];
  for (const item of list as Record<string, unknown>[]) {
    const area = digits(item?.area);
    const phoneNumber = digits(item?.phone_number ?? item?.phone);
    const msOpenId = typeof item?.ms_open_id === 'string' ? item.ms_open_id : null;
    if (area && phoneNumber && msOpenId) entries.push({ area, phoneNumber, msOpenId });
  }
  return entries;
}

function digits(value: unknown): string | null {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  return /^\d+$/.test(text) ? text : null;
}
