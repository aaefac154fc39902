import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';

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
    const line = {
      reqId: request.id,
      method: request.method,
      route: request.routeOptions.url ?? request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error.message }, 'request failed');
    else reply.log.info(line, 'request');
  }
}
