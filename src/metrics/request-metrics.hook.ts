import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { appendRouteHook } from '../common/route-hooks';
import { Metrics } from './metrics';

/**
 * Times every request Fastify answers by its route pattern: each route's own hook has its
 * pattern from registration, and one global hook times the requests no route matched as
 * `unmatched`.
 */
export function registerRequestMetrics(app: NestFastifyApplication): void {
  const metrics = app.get(Metrics);
  const observe = (request: FastifyRequest, reply: FastifyReply, route: string) =>
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRoute', (route) => {
    const pattern = route.url;
    appendRouteHook(route, 'onResponse', (request, reply, done) => {
      observe(request, reply, pattern);
      done();
    });
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    if (request.is404) observe(request, reply, 'unmatched');
    done();
  });
}
