import type { ErrorCases } from './error-responses';
import { EDGE_ANSWERS } from './http-edge';

/**
 * The error answers every route can give whatever it does, written by the HTTP edge (see
 * http-edge.ts), Fastify or the exception filter before or instead of the route: the OpenAPI
 * document adds them to each operation, so that no route has to repeat them.
 */
export const EDGE_ERRORS: ErrorCases = {
  400: [
    {
      ...EDGE_ANSWERS.badUrl,
      when: 'the URL does not decode, or a path parameter is over 200 characters',
      name: 'bad_url',
    },
  ],
  408: EDGE_ANSWERS.requestTimeout,
  414: EDGE_ANSWERS.uriTooLong,
  431: EDGE_ANSWERS.headersTooLarge,
  500: {
    code: 'internal_error',
    message: 'internal error',
    when: 'an error the service did not expect; the id is in its log line',
    id: '0b7c4c52-3a4e-4d6b-9a59-2f1c9f0e6a1d',
  },
  503: {
    ...EDGE_ANSWERS.shuttingDown,
    when: 'the service is shutting down (the connection is closed); retry elsewhere',
  },
};

/** What Fastify answers while reading a body: for every method that may have one. */
export const BODY_ERRORS: ErrorCases = {
  400: {
    code: 'bad_request',
    message: "Body is not valid JSON but content-type is set to 'application/json'",
    when: 'a body sent as JSON is not JSON (or is empty)',
    name: 'bad_json',
  },
  413: {
    code: 'payload_too_large',
    message: 'Request body is too large',
    when: 'the body is over WEBHOOK_BODY_LIMIT_BYTES (1 MiB unless configured)',
  },
  415: {
    code: 'unsupported_media_type',
    message: 'Unsupported Media Type',
    when: 'a body that is neither application/json nor text/plain',
  },
};

/** The methods whose bodies Fastify reads, whether the route takes one or not. */
export const BODY_METHODS: ReadonlySet<string> = new Set(['post', 'put', 'patch', 'delete']);
