/** The one error body of every route of the service: `{"error": {"code", "message"}}`. */
export interface ErrorBody {
  error: { code: string; message: string; id?: string };
}

/**
 * An answer other than a 2xx. `body` is the service's error body; it is undefined when
 * something between client and service (a proxy, a load balancer) answered in its own words,
 * which `message` then quotes.
 */
export class PstnTrackerError extends Error {
  override readonly name = 'PstnTrackerError';
  readonly body: ErrorBody | undefined;

  constructor(
    readonly status: number,
    answer: unknown,
  ) {
    const body = isErrorBody(answer) ? answer : undefined;
    const text = typeof answer === 'string' ? answer : (JSON.stringify(answer) ?? '');
    super(
      body
        ? `${status} ${body.error.code}: ${body.error.message}`
        : `${status}: ${text.slice(0, 200) || 'no body'}`,
    );
    this.body = body;
  }

  /** The service's machine-readable code (`participant_not_found`, ...). */
  get code(): string | undefined {
    return this.body?.error.code;
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/**
 * The body of a 2xx answer of the typed client; any other answer throws a PstnTrackerError.
 * openapi-fetch hands errors back as values; most callers would rather have them thrown.
 */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new PstnTrackerError(response.status, error);
  return data as T;
}
