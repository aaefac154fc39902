/** What an endpoint of the fake answers: an HTTP status and Tencent's JSON body. */

export type Json = Record<string, unknown>;

export interface Answer {
  status: number;
  body: Json;
}

/** Tencent's error shape; it sends the same code in both fields for the errors the fake plays. */
export function errorAnswer(status: number, code: number | null, message: string): Answer {
  return { status, body: { error_info: { error_code: code, new_error_code: code, message } } };
}

export function invalidParameters(message = 'invalid parameters'): Answer {
  return errorAnswer(400, 190004, message);
}
