import { STATUS_CODES } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  SwaggerModule,
  type MediaTypeObject,
  type OpenAPIObject,
  type OperationObject,
  type PathItemObject,
  type ReferenceObject,
  type ResponseObject,
} from '@nestjs/swagger';
import { BEARER_SCHEME, BEARER_SCHEME_NAME } from './auth/scope-docs';
import { BODY_ERRORS, BODY_METHODS, EDGE_ERRORS } from './common/edge-errors';
import {
  ERROR_REF,
  ERROR_SCHEMA,
  ERROR_SCHEMA_NAME,
  errorResponse,
  type ErrorCase,
} from './common/error-responses';
import { VERSION } from './common/version';
import { MS_OPEN_ID_OPERATION, MS_OPEN_ID_ROUTE } from './lookup/ms-open-id.route';

const DESCRIPTION = `Which phone caller in a Tencent Meeting is which: lookups for meeting-control services, actions on phone callers, admin routes for operators, and the receiver of Tencent's webhooks.

Every route the service serves is here except the documentation itself (\`/docs\`, \`/docs-json\`, \`/docs-yaml\` and the UI's assets). Each \`GET\` also answers \`HEAD\` (Fastify answers it), without the body.

Errors have one shape everywhere, \`{"error": {"code", "message"}}\` (a 500 also carries an \`id\` that its log line names): see the \`${ERROR_SCHEMA_NAME}\` schema. Besides its own, each operation lists what the HTTP edge answers for any route: a URL that does not decode (400), a request that does not arrive in time (408), a URL over 8 KiB (414), headers over 16 KiB (431), an unexpected error (500), a request during shutdown (503); and, for methods that may carry a body, a body that is not JSON (400), too large (413) or of another type than JSON or text (415).

Answers of \`/v1\` and \`/admin\` carry \`Cache-Control: no-store\`; every answer carries \`X-Content-Type-Options: nosniff\`.`;

/** The tags operations use, in the order the document lists them. */
const TAGS: Record<string, string> = {
  lookup: 'For meeting-control services: number <-> ms_open_id, phone callers, their events',
  control: 'For meeting-control services: mute, unmute, kick or rename phone callers by number',
  admin: 'For operators: meetings, stored events, the queue, the cache, API clients, stats',
  operations: 'Health checks and Prometheus metrics, for the platform',
  webhook: "Tencent Meeting's callback: signed by Tencent, not called by API clients",
};

/**
 * The OpenAPI document of the whole service, built from its code: Nest's controllers and their
 * decorators, the routes on Fastify itself, and what the HTTP edge answers for every route.
 * The one builder: /docs-json serves it and `npm run openapi` writes it to docs/openapi.json.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('pstn-tracker')
    .setDescription(DESCRIPTION)
    .setVersion(VERSION)
    .addServer('/', 'The service itself, wherever it runs')
    // Not addBearerAuth, which would call the token a JWT: it is opaque.
    .addSecurity(BEARER_SCHEME_NAME, BEARER_SCHEME);
  for (const [name, description] of Object.entries(TAGS)) builder.addTag(name, description);
  const built = builder.build();
  // DocumentBuilder starts with an empty contact; there is none to name. The licence is
  // package.json's: the service is private.
  const { contact: _empty, ...info } = built.info;
  const config = { ...built, info: { ...info, license: { name: 'UNLICENSED' } } };

  const scanned = SwaggerModule.createDocument(app, config);
  // Operations are copied, never changed: MS_OPEN_ID_OPERATION is shared by every app built.
  const shared: Record<string, ResponseObject> = {};
  const items: Record<string, PathItemObject> = {
    ...scanned.paths,
    [toOpenApiPath(MS_OPEN_ID_ROUTE)]: { post: MS_OPEN_ID_OPERATION },
  };
  const paths: Record<string, PathItemObject> = {};
  for (const [path, item] of Object.entries(items)) {
    paths[path] = Object.fromEntries(
      Object.entries(item as Record<string, OperationObject>).map(
        ([method, operation]): [string, OperationObject] => [
          method,
          withEdgeErrors(operation, method, shared),
        ],
      ),
    );
  }
  return {
    ...scanned,
    paths: byName(paths),
    components: {
      ...scanned.components,
      schemas: byName({ ...scanned.components?.schemas, [ERROR_SCHEMA_NAME]: ERROR_SCHEMA }),
      responses: byName(shared),
    },
  };
}

/** `/v1/meetings/:meetingId` -> `/v1/meetings/{meetingId}`. */
export function toOpenApiPath(route: string): string {
  return route.replace(/:(\w+)/g, '{$1}');
}

/** The edge's answers for a method: every route's, and those of reading a body. */
function edgeErrors(method: string): Map<number, { name: string; cases: ErrorCase[] }> {
  const errors = new Map<number, { name: string; cases: ErrorCase[] }>();
  const sets = BODY_METHODS.has(method) ? [EDGE_ERRORS, BODY_ERRORS] : [EDGE_ERRORS];
  for (const set of sets) {
    for (const [status, cases] of Object.entries(set)) {
      const known = errors.get(Number(status));
      const name = pascalCase(STATUS_CODES[status] ?? status);
      errors.set(Number(status), {
        name: known ? `${name}WithBody` : name,
        cases: [...(known?.cases ?? []), ...[cases!].flat()],
      });
    }
  }
  return errors;
}

/**
 * The operation with the edge's answers: a shared response (added to `shared`) where the
 * operation does not answer that status itself, else merged into its own (both reasons and all
 * the examples). A route no scope guards is public: the document says so rather than leave it
 * unsaid.
 */
function withEdgeErrors(
  operation: OperationObject,
  method: string,
  shared: Record<string, ResponseObject>,
): OperationObject {
  const responses = { ...operation.responses };
  for (const [status, { name, cases }] of edgeErrors(method)) {
    const own = responses[status];
    if (own === undefined) {
      shared[name] ??= errorResponse(cases);
      responses[status] = { $ref: `#/components/responses/${name}` };
    } else {
      responses[status] = merged(own as ResponseObject, errorResponse(cases));
    }
  }
  return { ...operation, security: operation.security ?? [], responses };
}

function merged(own: ResponseObject, edge: ResponseObject): ResponseObject {
  const mine: MediaTypeObject = own.content?.['application/json'] ?? {};
  const theirs = edge.content!['application/json'];
  for (const name of Object.keys(theirs.examples ?? {})) {
    if (mine.examples?.[name]) throw new Error(`example "${name}" is named twice`);
  }
  const isError = (mine.schema as ReferenceObject | undefined)?.$ref === ERROR_REF;
  return {
    ...own,
    description: `${own.description}\n\n${edge.description}`,
    content: {
      ...own.content,
      'application/json': {
        // An answer of its own shape (Terminus's report) or, from the edge, the error shape.
        schema: isError ? mine.schema : { oneOf: [mine.schema!, { $ref: ERROR_REF }] },
        examples: { ...mine.examples, ...theirs.examples },
      },
    },
  };
}

function pascalCase(phrase: string): string {
  return phrase.replace(/(?:^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_, letter: string) =>
    letter.toUpperCase(),
  );
}

/** Sorted by name, so that the document does not depend on the order modules are scanned in. */
function byName<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
