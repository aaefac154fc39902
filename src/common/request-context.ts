import { AsyncLocalStorage } from 'node:async_hooks';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** The request a piece of work runs for, so every log line written meanwhile names it. */
export const requestContext = new AsyncLocalStorage<{ reqId: string }>();

/** Runs each request's handling inside its context (Fastify continues the chain from `done`). */
export function registerRequestContext(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, _reply, done) => {
      requestContext.run({ reqId: request.id }, done);
    });
}
