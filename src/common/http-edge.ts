import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { BeforeApplicationShutdown, Global, Injectable, Module } from '@nestjs/common';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './api-error';

/**
 * What happens at the edge of the HTTP server, before or around any route: every answer written
 * here has the one error shape, and none names the URL it refuses (it may hold ids or tokens).
 */

/** URLs longer than this are answered 414; Node's own header limit (16 KiB) comes later. */
const MAX_URL_LENGTH = 8 * 1024;

/** What the edge answers, in its words: these and the OpenAPI document (edge-errors.ts) agree. */
export const EDGE_ANSWERS = {
  requestTimeout: { code: 'request_timeout', message: 'the request did not arrive in time' },
  headersTooLarge: {
    code: 'headers_too_large',
    message: 'the request line and headers are too large',
  },
  notHttp: { code: 'bad_request', message: 'the request could not be read as HTTP' },
  badUrl: {
    code: 'bad_request',
    message: 'the URL is not valid (a percent-escape that does not decode, say)',
  },
  paramTooLong: { code: 'bad_request', message: 'a path parameter is too long' },
  uriTooLong: {
    code: 'uri_too_long',
    message: `the URL is longer than ${MAX_URL_LENGTH} characters`,
  },
  shuttingDown: {
    code: 'service_unavailable',
    message: 'the service is shutting down; retry elsewhere',
  },
} as const;

function errorBody({ code, message }: { code: string; message: string }): string {
  const body: ErrorBody = { error: { code, message } };
  return JSON.stringify(body);
}

/**
 * Node's client errors (a request that timed out, headers over Node's limit, a request Node's
 * parser could not read), written on the socket since no request object exists yet.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, answer] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, EDGE_ANSWERS.requestTimeout]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, EDGE_ANSWERS.headersTooLarge]
        : [400, EDGE_ANSWERS.notHttp];
  const body = errorBody(answer);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's errors about a URL before routing (a bad percent-escape, a param too long). */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const answer =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? EDGE_ANSWERS.paramTooLong : EDGE_ANSWERS.badUrl;
  // Fastify answers these before the onRequest hooks run, so their headers are set here too.
  void reply
    .code(400)
    .type('application/json; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(errorBody(answer));
}

/**
 * Once shutdown begins, requests still arriving (on kept-alive connections) are answered 503 in
 * the error shape and their connections closed, while those in flight finish.
 */
@Injectable()
export class DrainingGate implements BeforeApplicationShutdown {
  draining = false;

  /** Runs before the HTTP server closes and waits for the requests in flight. */
  beforeApplicationShutdown(): void {
    this.draining = true;
  }
}

/**
 * Hooks every request goes through (one of each kind, as each costs on the hot routes): a
 * request during shutdown is a 503, a URL over the limit a 414; answers are never sniffed as
 * another type, and the API's answers (which hold callers and tokens) are never cached.
 */
export function registerEdgeHooks(fastify: FastifyInstance, gate: DrainingGate): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    // Set here rather than in an onSend hook: headers set early go out with whatever answer
    // follows, errors included, and a hook less is a few microseconds less per request.
    reply.header('x-content-type-options', 'nosniff');
    const url = request.raw.url ?? '';
    if (url.startsWith('/v1/') || url.startsWith('/admin/')) {
      reply.header('cache-control', 'no-store');
    }
    if (gate.draining) {
      void reply
        .code(503)
        .header('connection', 'close')
        .type('application/json; charset=utf-8')
        .send(errorBody(EDGE_ANSWERS.shuttingDown));
      return;
    }
    if (url.length > MAX_URL_LENGTH) {
      void reply
        .code(414)
        .type('application/json; charset=utf-8')
        .send(errorBody(EDGE_ANSWERS.uriTooLong));
      return;
    }
    done();
  });
}

@Global()
@Module({ providers: [DrainingGate], exports: [DrainingGate] })
export class HttpEdgeModule {}
