import { randomUUID } from 'node:crypto';
import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  NotFoundException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorBody } from './api-error';
import { logFor } from './request-logger';

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'headers_too_large',
  503: 'service_unavailable',
};

/**
 * Maps any error to a status and the one error body shape. A 5xx is logged with the request's
 * id (and its cause); a 500 also carries an id of its own, in the answer and the log line.
 */
export function toErrorResponse(
  error: unknown,
  log: (message: string) => void,
): { status: number; body: ErrorBody } {
  if (error instanceof ApiError) {
    if (error.status >= 500) {
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
      log(`${error.code}${cause}`);
    }
    return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  }
  if (error instanceof NotFoundException && error.message.startsWith('Cannot ')) {
    // Nest's router names the path it did not find; the path may hold ids or tokens.
    return {
      status: 404,
      body: { error: { code: 'not_found', message: 'no route matches this method and path' } },
    };
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
  log(`unhandled error ${id}: ${(error as Error)?.stack ?? String(error)}`);
  return {
    status: 500,
    body: { error: { code: 'internal_error', message: 'internal error', id } },
  };
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const { status, body } = toErrorResponse(error, (message) =>
      logFor(request).error({ context: 'Errors' }, message),
    );
    void http.getResponse<FastifyReply>().status(status).type('application/json').send(body);
  }
}
