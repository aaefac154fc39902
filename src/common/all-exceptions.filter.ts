import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiError, type ErrorBody } from './api-error';

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

/** Maps any error to a status and the one error body shape; a 500 carries an id that is logged. */
export function toErrorResponse(
  error: unknown,
  logger: Logger,
): { status: number; body: ErrorBody } {
  if (error instanceof ApiError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const raw =
      typeof response === 'object' ? (response as { message?: unknown }).message : response;
    const message = Array.isArray(raw)
      ? raw.join('; ')
      : typeof raw === 'string'
        ? raw
        : error.message;
    return { status, body: { error: { code: CODES[status] ?? 'error', message } } };
  }
  // Errors Fastify raises before a route runs (body too large, unparsable JSON, ...).
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      status,
      body: { error: { code: CODES[status] ?? 'bad_request', message: (error as Error).message } },
    };
  }
  const id = randomUUID();
  logger.error(`unhandled error ${id}: ${(error as Error)?.stack ?? String(error)}`);
  return {
    status: 500,
    body: { error: { code: 'internal_error', message: 'internal error', id } },
  };
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    const { status, body } = toErrorResponse(error, this.logger);
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(status)
      .type('application/json')
      .send(body);
  }
}
