import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Metrics } from './metrics';

/** Times every request by its route pattern (never the path: it holds ids). */
export function registerRequestMetrics(app: NestFastifyApplication): void {
  const histogram = app.get(Metrics).httpDuration;
  // One labelled child per method, route and status: looking labels up costs more than observing.
  const children = new Map<string, { observe(seconds: number): void }>();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const key = `${request.method} ${route} ${reply.statusCode}`;
      let child = children.get(key);
      if (!child) {
        child = histogram.labels(request.method, route, String(reply.statusCode));
        children.set(key, child);
      }
      child.observe(reply.elapsedTime / 1000);
      done();
    });
}
