import {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger as PinoLogger } from 'pino';

/** The one line written per finished request: the route's pattern, never the path or query. */
export interface RequestLine {
  reqId: string;
  method: string;
  route: string;
  status: number;
  ms: number;
}

let lastRequestId = 0;

/** Request ids for log lines (Fastify's `genReqId`). */
export function nextRequestId(): string {
  lastRequestId = (lastRequestId + 1) % Number.MAX_SAFE_INTEGER;
  return `req-${lastRequestId.toString(36)}`;
}

/**
 * One log line per finished request, naming the route's pattern or `unmatched`: never the path
 * (it holds meeting ids, tokens in a mistyped admin path, numbers), the query (check_str),
 * headers (signatures, tokens) or bodies. Fastify's own lines about a bad URL or a missing
 * route, which would name the URL, are not written.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}
  override routeNotFound(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (!error && !(reply.log as PinoLogger).isLevelEnabled('info')) return;
    logRequest(
      reply.log,
      {
        reqId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        ms: reply.elapsedTime,
      },
      error,
    );
  }
}

/** Writes a request's line: at info, or at error with the error's message. */
export function logRequest(log: FastifyBaseLogger, line: RequestLine, error?: Error | null): void {
  const rounded = { ...line, ms: Math.round(line.ms * 10) / 10 };
  if (error) log.error({ ...rounded, err: error.message }, 'request failed');
  else log.info(rounded, 'request');
}
