import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Metrics } from './metrics';

/** Times every request by its route pattern (never the path: it holds ids). */
export function registerRequestMetrics(app: NestFastifyApplication): void {
  const histogram = app.get(Metrics).httpDuration;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', async (request, reply) => {
      histogram.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
        },
        reply.elapsedTime / 1000,
      );
    });
}
