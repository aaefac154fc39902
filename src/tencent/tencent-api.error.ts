/** Rate-limit codes: the call may succeed later. */
const RETRYABLE_CODES = new Set([190310, 190313]);

/**
 * A non-success answer from Tencent's REST API, with both of its error codes. Unknown codes are
 * kept as they are and treated as final unless the HTTP status says the service failed.
 */
export class TencentApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly errorCode: number | null,
    readonly newErrorCode: number | null,
    message: string,
  ) {
    super(message);
  }

  /** 5xx and rate limits are retried; parameter, permission, not-found and auth errors are not. */
  get retryable(): boolean {
    if (this.errorCode !== null && RETRYABLE_CODES.has(this.errorCode)) return true;
    if (this.newErrorCode !== null && RETRYABLE_CODES.has(this.newErrorCode)) return true;
    return this.httpStatus >= 500;
  }

  /** Reads `{"error_info":{"error_code","new_error_code","message"}}` from an error answer. */
  static fromResponse(httpStatus: number, body: string): TencentApiError {
    let info: { error_code?: unknown; new_error_code?: unknown; message?: unknown } = {};
    try {
      const parsed = JSON.parse(body) as { error_info?: typeof info };
      info = parsed.error_info ?? {};
    } catch {
      // Not JSON (a proxy's error page, say): the status alone decides.
    }
    const code = (value: unknown) =>
      Number.isInteger(Number(value)) && value !== undefined && value !== null
        ? Number(value)
        : null;
    const message = typeof info.message === 'string' ? info.message : `HTTP ${httpStatus}`;
    return new TencentApiError(
      httpStatus,
      code(info.error_code),
      code(info.new_error_code),
      message,
    );
  }
}

/**
 * Tencent could not be reached: the message names the cause (`ECONNREFUSED 127.0.0.1:9`, a DNS
 * or TLS failure) instead of fetch's bare "fetch failed".
 */
export class TencentNetworkError extends Error {
  static from(error: unknown, baseUrl: string): TencentNetworkError {
    const cause = (
      error as { cause?: { code?: string; address?: string; port?: number; message?: string } }
    ).cause;
    const where = cause?.address
      ? `${cause.address}${cause.port ? `:${cause.port}` : ''}`
      : baseUrl;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    return new TencentNetworkError(`Tencent unreachable: ${why} ${where}`, { cause: error });
  }
}
