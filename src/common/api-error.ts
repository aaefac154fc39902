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

  /** The error of a case the OpenAPI document shows, so the two say the same. */
  static of(status: number, { code, message }: ErrorCase): ApiError {
    return new ApiError(status, code, message);
  }
}

/** The one error body shape of every route: `{ "error": { "code", "message" } }`. */
export interface ErrorBody {
  error: { code: string; message: string; id?: string };
}

/** One reason a route answers a status: its code and message, as the service writes them. */
export interface ErrorCase {
  code: string;
  message: string;
  /** When it is answered, where the message alone does not say so. */
  when?: string;
  /** The example's name, where the code does not tell it from the others of its status. */
  name?: string;
  /** The 500's own id. */
  id?: string;
}
