import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

/**
 * The logger for lines written about one request: each carries the request's id. (Work done
 * outside a request, by the queue worker or the resolver, logs through Nest's Logger.)
 */
export function logFor(request: FastifyRequest): FastifyBaseLogger {
  return request.log.child({ reqId: request.id });
}
