/** An error with the status and machine-readable code the client sees. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** The one error body shape of every route: `{ "error": { "code", "message" } }`. */
export interface ErrorBody {
  error: { code: string; message: string; id?: string };
}
