import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { appendRouteHook } from '../common/route-hooks';
import { Metrics, type RequestTimer } from './metrics';

/**
 * Times every request Fastify answers by its route pattern: each route's own hook has its
 * pattern from registration, and one global hook times the requests no route matched as
 * `unmatched`.
 */
export function registerRequestMetrics(app: NestFastifyApplication): void {
  const metrics = app.get(Metrics);
  const observe = (timer: RequestTimer, request: FastifyRequest, reply: FastifyReply) =>
    timer(request.method, reply.statusCode, reply.elapsedTime / 1000);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRoute', (route) => {
    const timer = metrics.routeTimer(route.url);
    appendRouteHook(route, 'onResponse', (request, reply, done) => {
      observe(timer, request, reply);
      done();
    });
  });
  const unmatched = metrics.routeTimer('unmatched');
  fastify.addHook('onResponse', (request, reply, done) => {
    if (request.is404) observe(unmatched, request, reply);
    done();
  });
}
