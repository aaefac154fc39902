import { ValidationPipe } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { FastLaneServer, nextRequestId } from './common/fast-lane';
import { logRequest, RequestLogController } from './common/request-log.controller';
import type { Env } from './config/env.schema';
import { CachedLookupLane } from './lookup/cached-lookup.lane';
import { Metrics } from './metrics/metrics';
import { registerRequestMetrics } from './metrics/request-metrics.hook';
import { WebhookIntakeLane } from './webhook/webhook-intake.lane';

/** The HTTP server every instance runs on, production and tests alike. */
export function createFastifyAdapter(env: Env, logger: PinoLogger): FastifyAdapter {
  return new FastifyAdapter({
    loggerInstance: logger,
    // No child logger per request: the request line names its id, and logFor() adds it to the
    // other lines written about a request.
    childLoggerFactory: (parent: FastifyBaseLogger) => parent,
    logController: new RequestLogController(),
    genReqId: nextRequestId,
    // Webhook deliveries and cache-hit lookups are answered before Fastify (see useFastLanes).
    serverFactory: FastLaneServer.factory,
    bodyLimit: env.WEBHOOK_BODY_LIMIT_BYTES,
    // Lets in-flight requests finish on shutdown while new connections are refused.
    return503OnClosing: true,
    // No Nest middleware is used: Fastify hooks do that work without middie's per-request cost.
    skipMiddie: true,
  });
}

/**
 * Nest's application options, production and tests alike. Fastify's own JSON parser reads the
 * bodies: Nest's would wrap it per request (a new parser, a Buffer, a completion guard) and adds
 * only a urlencoded parser that no route takes.
 */
export const APP_OPTIONS = { bodyParser: false } as const;

/** The request pipeline shared by main.ts and the tests, so tests run what production runs. */
export function configureApp(app: NestFastifyApplication): void {
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  app.enableShutdownHooks();
  registerRequestMetrics(app);
  useFastLanes(app);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('pstn-tracker')
      .setDescription(
        'Which phone caller in a Tencent Meeting is which: lookups for meeting-control services and admin routes for operators.',
      )
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

/**
 * Serves the two hot paths before Fastify (WebhookIntakeLane, CachedLookupLane), logged and timed
 * like the requests Fastify serves.
 */
function useFastLanes(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const log = fastify.log as PinoLogger;
  const metrics = app.get(Metrics);
  FastLaneServer.install(
    fastify,
    [app.get(WebhookIntakeLane), app.get(CachedLookupLane)],
    (line) => {
      metrics.observeRequest(line.method, line.route, line.status, line.ms / 1000);
      if (log.isLevelEnabled('info')) logRequest(log, line);
    },
  );
}
