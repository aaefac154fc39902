import { Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyServerFactory } from 'fastify';
import type { RequestLine } from './request-log.controller';

/**
 * A route answered before Fastify sees the request, for the one request whose answer costs less
 * than Fastify's and Nest's work around it (a cache-hit lookup). The lane reads the body and
 * either answers or declines; a declined request goes on to Fastify with its body replayed, and
 * Fastify serves it as though there were no lane: hooks, guards, validation and errors alike.
 */
export interface FastLane {
  /** The route pattern, as Fastify names it in logs and metrics. */
  readonly route: string;
  /** Cheap checks on the request line and headers: whether to read the body at all. */
  wants(request: IncomingMessage): boolean;
  /** Answers on `response` and resolves true, or resolves false having written nothing. */
  answer(request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<boolean>;
}

/** The largest body a lane reads; a larger one goes to Fastify unread (and its limit). */
const LANE_BODY_LIMIT = 16 * 1024;

/** Bodies a lane read and declined, for Fastify to parse as if it had read them itself. */
const declinedBodies = new WeakMap<IncomingMessage, Buffer>();

let lastRequestId = 0;

/** Request ids for log lines, shared by Fastify (its `genReqId`) and the lanes. */
export function nextRequestId(): string {
  lastRequestId = (lastRequestId + 1) % Number.MAX_SAFE_INTEGER;
  return `req-${lastRequestId.toString(36)}`;
}

/** The HTTP server: a lane, when one is set, sees each request before Fastify's handler. */
export class FastLaneServer extends Server {
  private lane: FastLane | undefined;
  private onAnswered: (line: RequestLine) => void = () => undefined;

  private constructor(
    private readonly fastify: (req: IncomingMessage, res: ServerResponse) => void,
  ) {
    super((request, response) => this.dispatch(request, response));
  }

  /** Fastify's `serverFactory`, with the timeouts Fastify sets on the servers it creates. */
  static readonly factory: FastifyServerFactory = (handler, options) => {
    const server = new FastLaneServer(handler);
    server.keepAliveTimeout = options.keepAliveTimeout as number;
    server.requestTimeout = options.requestTimeout as number;
    server.setTimeout(options.connectionTimeout as number);
    return server;
  };

  /**
   * Puts `lane` in front of `fastify`, which must have been created with `factory` and not be
   * ready yet (the body replay is a hook). `onAnswered` hears of every request the lane answers.
   */
  static install(
    fastify: FastifyInstance,
    lane: FastLane,
    onAnswered: (line: RequestLine) => void,
  ): void {
    const server = fastify.server;
    if (!(server instanceof FastLaneServer)) {
      throw new Error('Fastify must be created with FastLaneServer.factory');
    }
    fastify.addHook('preParsing', (request, _reply, payload, done) => {
      const body = declinedBodies.get(request.raw);
      done(null, body ? Readable.from([body], { objectMode: false }) : payload);
    });
    server.lane = lane;
    server.onAnswered = onAnswered;
  }

  private dispatch(request: IncomingMessage, response: ServerResponse): void {
    const lane = this.lane;
    const length = Number(request.headers['content-length']);
    if (!lane || !(length > 0 && length <= LANE_BODY_LIMIT) || !lane.wants(request)) {
      this.fastify(request, response);
      return;
    }
    const started = performance.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const decline = () => {
        declinedBodies.set(request, body);
        this.fastify(request, response);
      };
      lane.answer(request, body, response).then((answered) => {
        if (!answered) return decline();
        this.onAnswered({
          reqId: nextRequestId(),
          method: request.method ?? '',
          route: lane.route,
          status: response.statusCode,
          ms: performance.now() - started,
        });
      }, decline);
    });
  }
}
