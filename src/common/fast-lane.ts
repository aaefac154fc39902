import { Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyServerFactory } from 'fastify';
import type { RequestLine } from './request-log.controller';

/**
 * A route answered before Fastify sees the request, for requests whose answer costs less than
 * Fastify's and Nest's work around it (a cache-hit lookup, a webhook delivery). The lane reads
 * the body and either answers or declines; a declined request goes on to Fastify with its body
 * replayed, and Fastify serves it as though there were no lane: hooks, guards, validation and
 * errors alike.
 */
export interface FastLane {
  /** The route pattern, as Fastify names it in logs and metrics. */
  readonly route: string;
  /** Cheap checks on the request line and headers: whether to read the body at all. */
  wants(request: IncomingMessage): boolean;
  /**
   * Answers on `response` and resolves true, or resolves false (or rejects) having written
   * nothing. `logError` writes an error line about this request, carrying its id.
   */
  answer(
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
    logError: (message: string) => void,
  ): Promise<boolean>;
}

/** Writes a whole answer with its length, as Fastify would for a string body. */
export function sendText(
  response: ServerResponse,
  status: number,
  contentType: string,
  text: string,
): void {
  response
    .writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) })
    .end(text);
}

const JSON_TYPE = /^application\/json\s*(;\s*charset=utf-8\s*)?$/i;

/** Whether the request says its body is JSON, in one of the spellings clients use. */
export function hasJsonBody(request: IncomingMessage): boolean {
  return JSON_TYPE.test(request.headers['content-type'] ?? '');
}

/**
 * The body as JSON, or undefined for what Fastify's parser must judge: text that does not parse,
 * and text that names `__proto__` or `constructor` (which Fastify's parser refuses as poisoning)
 * or holds an escape, which could spell them.
 */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.includes('\\') || text.includes('__proto__') || text.includes('constructor')) {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
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

/** The HTTP server: the lanes, when set, see each request before Fastify's handler. */
export class FastLaneServer extends Server {
  private lanes: FastLane[] = [];
  private bodyLimit = LANE_BODY_LIMIT;
  private log: FastifyBaseLogger | undefined;
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
   * Puts `lanes` in front of `fastify`, which must have been created with `factory` and not be
   * ready yet (the body replay is a hook). A request goes to the first lane that wants it.
   * `onAnswered` hears of every request a lane answers.
   */
  static install(
    fastify: FastifyInstance,
    lanes: FastLane[],
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
    server.lanes = lanes;
    // A lane never reads a body that Fastify would refuse as too large.
    server.bodyLimit = Math.min(LANE_BODY_LIMIT, fastify.initialConfig.bodyLimit ?? Infinity);
    server.log = fastify.log;
    server.onAnswered = onAnswered;
  }

  private dispatch(request: IncomingMessage, response: ServerResponse): void {
    const length = Number(request.headers['content-length']);
    const lane =
      length > 0 && length <= this.bodyLimit
        ? this.lanes.find((candidate) => candidate.wants(request))
        : undefined;
    if (!lane) {
      this.fastify(request, response);
      return;
    }
    const started = performance.now();
    const reqId = nextRequestId();
    const logError = (message: string) => this.log?.error({ reqId, context: 'Errors' }, message);
    // A lane's answer is reported once it has left, as Fastify reports its own: an answer to a
    // client that went away is neither logged nor timed.
    const report = () =>
      this.onAnswered({
        reqId,
        method: request.method ?? '',
        route: lane.route,
        status: response.statusCode,
        ms: performance.now() - started,
      });
    response.once('finish', report);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const decline = () => {
        response.off('finish', report);
        declinedBodies.set(request, body);
        this.fastify(request, response);
      };
      lane.answer(request, body, response, logError).then((answered) => {
        if (!answered) decline();
      }, decline);
    });
  }
}
