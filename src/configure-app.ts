import { ValidationPipe } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { registerRevealAudit } from './admin/phone-masking';
import { ApiClientsService } from './auth/api-clients.service';
import { registerScopeHook } from './auth/require-scope';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import {
  answerClientError,
  answerFrameworkError,
  DrainingGate,
  registerEdgeHooks,
} from './common/http-edge';
import { nextRequestId, RequestLogController } from './common/request-log';
import { formatSchemaErrors, SCHEMA_VALIDATION } from './common/schema-validation';
import type { Env } from './config/env.schema';
import { registerRequestMetrics } from './metrics/request-metrics.hook';
import { buildOpenApiDocument } from './openapi-document';

/** How often Node looks for requests past their request or headers timeout. */
const TIMEOUT_CHECK_MS = 1000;
/** Longer path parameters are refused 400 before routing (see maxParamLength). */
const MAX_PATH_PARAM_LENGTH = 200;

/** The HTTP server every instance runs on, production and tests alike. */
export function createFastifyAdapter(env: Env, logger: PinoLogger): FastifyAdapter {
  return new FastifyAdapter({
    loggerInstance: logger,
    // No child logger per request: the request line names its id, and logFor() adds it to the
    // other lines written about a request.
    childLoggerFactory: (parent: FastifyBaseLogger) => parent,
    logController: new RequestLogController(),
    genReqId: nextRequestId,
    bodyLimit: env.WEBHOOK_BODY_LIMIT_BYTES,
    // The longest path parameter a route takes (an ms_open_id of up to 128 characters, see
    // id-rules.ts) must reach its route's own rule; Fastify's default stops at 100.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    // A body that has not arrived in time never will (Tencent waits 5 s): 408 and close.
    requestTimeout: env.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: env.HTTP_IDLE_TIMEOUT_MS,
    connectionTimeout: env.HTTP_IDLE_TIMEOUT_MS,
    http: {
      headersTimeout: env.HTTP_HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    trustProxy: env.TRUST_PROXY,
    ajv: SCHEMA_VALIDATION,
    schemaErrorFormatter: formatSchemaErrors,
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // DrainingGate answers requests that arrive during shutdown, in the error shape.
    return503OnClosing: false,
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
  const fastify = app.getHttpAdapter().getInstance();
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  app.enableShutdownHooks();
  registerEdgeHooks(fastify, app.get(DrainingGate));
  registerScopeHook(fastify, app.get(ApiClientsService));
  registerRevealAudit(fastify);
  registerRequestMetrics(app);

  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}
