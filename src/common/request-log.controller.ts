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

/**
 * One log line per finished request, with the route's path only: never the query (check_str),
 * headers (signatures, tokens) or bodies.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

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
        route: request.routeOptions.url ?? request.url.split('?')[0],
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
