import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIObject, OperationObject, ResponseObject } from '@nestjs/swagger';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientsService } from '../src/auth/api-clients.service';
import type { ScopedRouteConfig } from '../src/auth/require-scope';
import type { ErrorBody } from '../src/common/api-error';
import { ERROR_REF } from '../src/common/error-responses';
import { buildOpenApiDocument, toOpenApiPath } from '../src/openapi-document';
import { FakeTencentServer } from '../tools/fake-tencent/fake-tencent-server';
import { signedDelivery } from '../tools/webhook-delivery';
import { deliver } from './support/deliver';
import {
  ADMIN_TOKEN,
  AES_KEY,
  AES_TOKEN,
  startTestApp,
  TENCENT_CREDENTIALS,
  testEnv,
  type TestApp,
} from './support/test-app';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { buildEvent } from './support/webhook-fixtures';

/** The documentation's own routes, the only ones the document leaves out. */
const DOCS_UI = /^\/docs(?:$|[/-])/;
const COMMITTED = join(__dirname, '../docs/openapi.json');

interface ServedRoute {
  method: string;
  url: string;
  scope: string | undefined;
}

type Json = Record<string, unknown>;

/** A JSON pointer into the document. */
const pointer = (...segments: string[]) =>
  segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/** The media type without its parameters: `application/json; charset=utf-8` -> `application/json`. */
const mediaType = (type: string) => type.split(';')[0].trim();

/**
 * The document with every object schema closed to properties it does not list, so that a real
 * answer carrying an undocumented field fails validation instead of passing unnoticed.
 */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (typeof node !== 'object' || node === null) return node;
  const copy: Json = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, closed(v)]));
  if (typeof copy.properties === 'object' && !('additionalProperties' in copy)) {
    copy.additionalProperties = false;
  }
  return copy;
}

describe('the OpenAPI document', () => {
  let databaseUrl: string;
  let fake: FakeTencentServer;
  let t: TestApp;
  let document: OpenAPIObject;
  let lookupToken: string;
  const served: ServedRoute[] = [];
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    fake = new FakeTencentServer(TENCENT_CREDENTIALS);
    const env = testEnv(databaseUrl, {
      TENCENT_API_BASE_URL: await fake.start(),
      WEBHOOK_BODY_LIMIT_BYTES: '4096',
      // Every scoped route is sent a request without a token: one failed authentication each.
      AUTH_FAILURES_PER_MINUTE: '1000',
    });
    t = await startTestApp(env, {
      // Before Nest and the Fastify-level routes register theirs: every route is heard.
      beforeInit: (app) =>
        app
          .getHttpAdapter()
          .getInstance()
          .addHook('onRoute', (route) => {
            const config: ScopedRouteConfig | undefined = route.config;
            for (const method of [route.method].flat()) {
              served.push({ method, url: route.url, scope: config?.scope });
            }
          }),
    });
    lookupToken = (await t.app.get(ApiClientsService).create('meeting-control', ['lookup'])).token;
    document = (await http().get('/docs-json').expect(200)).body as OpenAPIObject;
    ajv.addSchema(closed(document) as Json, 'doc');
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await dropTestDatabase(databaseUrl);
  });

  const http = () => request(t.app.getHttpServer());
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const lookup = () => ({ authorization: `Bearer ${lookupToken}` });
  const operations = () =>
    Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, OperationObject>).map(([method, operation]) => ({
        path,
        method,
        operation,
      })),
    );
  const routes = () => served.filter((route) => !DOCS_UI.test(route.url));

  /** A response with the pointer of its schema's place, a shared one resolved. */
  function response(path: string, method: string, status: string) {
    const own = document.paths[path]?.[method as 'get']?.responses[status];
    if (!own || !('$ref' in own)) {
      return {
        at: pointer('paths', path, method, 'responses', status),
        response: own,
      };
    }
    const name = own.$ref.replace('#/components/responses/', '');
    return {
      at: pointer('components', 'responses', name),
      response: document.components?.responses?.[name] as ResponseObject,
    };
  }

  /** The documented operation a request reaches: literal segments win over parameters. */
  function operationFor(method: string, url: string): string {
    const path = url.split('?')[0];
    const matches = Object.keys(document.paths)
      .filter((template) => document.paths[template][method as 'get'])
      .filter((template) => new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`).test(path))
      .sort((a, b) => b.replace(/\{\w+\}/g, '').length - a.replace(/\{\w+\}/g, '').length);
    expect(matches, `${method} ${url} is documented`).not.toHaveLength(0);
    return matches[0];
  }

  /** The answer's status, type and body are what the document says the operation answers. */
  function expectDocumented(method: string, url: string, res: request.Response): void {
    const label = `${method.toUpperCase()} ${url} answered ${res.status}`;
    const path = operationFor(method, url);
    const { at, response: answer } = response(path, method, String(res.status));
    expect(answer, `${label}: the status is documented`).toBeDefined();
    if (res.status === 204) return expect(answer?.content, label).toBeUndefined();
    const type = mediaType(String(res.headers['content-type']));
    const [media] = Object.keys(answer?.content ?? {}).filter((key) => mediaType(key) === type);
    expect(media, `${label}: its type ${type} is documented`).toBeDefined();
    if (type !== 'application/json') return;
    const validate = ajv.compile({ $ref: `doc#${at}${pointer('content', media, 'schema')}` });
    expect(validate(res.body) ? [] : validate.errors, `${label}: ${res.text}`).toEqual([]);
    if (res.status >= 400) {
      const examples = Object.values(answer!.content![media].examples ?? {}) as {
        value: { error: { code: string } };
      }[];
      const codes = examples.map((example) => example.value.error?.code);
      expect(codes, `${label}: its code is among the documented ones`).toContain(
        (res.body as { error: { code: string } }).error.code,
      );
    }
  }

  it('is the committed docs/openapi.json, served at /docs-json, and the same when built again', () => {
    const committed: unknown = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    expect(document).toEqual(committed);
    // Building changes nothing it is given: another app in the process gets the same document.
    expect(JSON.parse(JSON.stringify(buildOpenApiDocument(t.app)))).toEqual(committed);
  });

  it('has every route the app serves, with the scope it checks', () => {
    expect(routes().length).toBeGreaterThan(30);
    for (const route of routes()) {
      // Fastify answers HEAD for each GET itself; the document names the GET.
      const method = route.method === 'HEAD' ? 'GET' : route.method;
      if (route.method === 'HEAD') {
        expect(served, `HEAD ${route.url}`).toContainEqual({ ...route, method: 'GET' });
      }
      const operation = document.paths[toOpenApiPath(route.url)]?.[
        method.toLowerCase() as 'get'
      ] as Json | undefined;
      expect(operation, `${route.method} ${route.url} is documented`).toBeDefined();
      expect(operation?.['x-required-scope'], `${route.method} ${route.url}`).toBe(route.scope);
      expect(operation?.security, `${route.method} ${route.url}`).toEqual(
        route.scope ? [{ bearer: [] }] : [],
      );
    }
  });

  it('refuses a request without a token on every route that names a scope, and one of another scope', async () => {
    const scoped = routes().filter((route) => route.scope !== undefined);
    expect(scoped.length).toBeGreaterThan(20);
    for (const route of scoped) {
      // Every path parameter '1', and no body: the check answers before either is read.
      const path = route.url.replace(/:\w+/g, '1');
      const call = (headers: Record<string, string>) =>
        http()[route.method.toLowerCase() as 'get'](path).set(headers);
      const anonymous = await call({});
      expect(anonymous.status, `${route.method} ${route.url}`).toBe(401);
      if (route.method !== 'HEAD') expect(anonymous.body.error.code).toBe('unauthorized');
      if (route.scope === 'lookup') continue;
      const other = await call(lookup());
      expect(other.status, `${route.method} ${route.url} with a lookup token`).toBe(403);
    }
  });

  it('documents no route the app does not serve', () => {
    const documented = operations().map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    const real = routes().map((route) => `${route.method} ${toOpenApiPath(route.url)}`);
    expect(documented.filter((operation) => !real.includes(operation))).toEqual([]);
  });

  it('gives every operation a 2xx with a schema and an example', () => {
    for (const { path, method, operation } of operations()) {
      const label = `${method.toUpperCase()} ${path}`;
      const success = Object.entries(operation.responses).filter(([status]) => /^2/.test(status));
      expect(success, label).not.toHaveLength(0);
      for (const [status, answer] of success as [string, ResponseObject][]) {
        if (status === '204') continue;
        const media = Object.values(answer.content ?? {});
        expect(media, `${label} ${status}`).not.toHaveLength(0);
        for (const { schema, example, examples } of media) {
          expect(schema, `${label} ${status}`).toBeDefined();
          expect(example ?? examples, `${label} ${status}`).toBeDefined();
        }
      }
    }
  });

  it('gives every error answer the one error schema, with an example of each code', () => {
    const validate = ajv.compile({ $ref: `doc${ERROR_REF}` });
    for (const { path, method, operation } of operations()) {
      for (const status of Object.keys(operation.responses).filter((s) => Number(s) >= 400)) {
        const label = `${method.toUpperCase()} ${path} ${status}`;
        const { response: answer } = response(path, method, status);
        expect(Object.keys(answer?.content ?? {}), label).toEqual(['application/json']);
        const { schema, examples } = answer!.content!['application/json'];
        const refs = [schema, ...((schema as { oneOf?: unknown[] }).oneOf ?? [])];
        expect(refs, label).toContainEqual({ $ref: ERROR_REF });
        // Terminus's own 503 report has an `error` too, but no code in it.
        const errorExamples = Object.values(examples ?? {}).filter(
          (example) => typeof (example as { value: ErrorBody }).value.error?.code === 'string',
        );
        expect(errorExamples, label).not.toHaveLength(0);
        for (const { value } of errorExamples as { value: unknown }[]) {
          expect(validate(value) ? [] : validate.errors, label).toEqual([]);
        }
      }
    }
  });

  describe('describes what the app really answers', () => {
    const meetingId = '13339451618278424869';
    const msOpenId = 'WMfgHRYj6m36mcDGtK';
    const numbers = { phone_numbers: [{ area: 86, phone_number: 13888888888 }] };

    beforeAll(async () => {
      await deliver(t, buildEvent('meeting.started', { meetingId }));
      const put = await http()
        .put(`/v1/meetings/${meetingId}/tracked-numbers`)
        .set(lookup())
        .send(numbers);
      expectDocumented('put', `/v1/meetings/${meetingId}/tracked-numbers`, put);
      fake.connect(meetingId, 86, '13888888888', msOpenId);
      await deliver(
        t,
        buildEvent('meeting.participant-joined', {
          meetingId,
          msOpenId,
          pstnNumber: '+8613888888888',
        }),
      );
      // expect.poll is for tests, not hooks: the resolver maps the caller within a few seconds.
      for (let tries = 0; ; tries += 1) {
        const [{ n }] = await t.db.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM ms_open_id_mappings WHERE meeting_id = $1`,
          [meetingId],
        );
        if (n === 1) break;
        if (tries === 200) throw new Error('the caller was never resolved');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });

    it.each([
      ['get', '/health/live'],
      ['get', '/health/ready'],
      ['get', '/metrics'],
      ['get', `/v1/meetings/${meetingId}/pstn-participants`],
      ['get', `/v1/meetings/${meetingId}/pstn-participants/${msOpenId}`],
      ['get', '/admin/meetings'],
      ['get', `/admin/meetings/${meetingId}`],
      ['get', `/admin/meetings/${meetingId}?reveal=true`],
      ['post', `/admin/meetings/${meetingId}/resolve`],
      ['post', `/admin/meetings/${meetingId}/reconcile`],
      ['get', '/admin/webhook-events'],
      ['get', '/admin/webhook-events/1'],
      ['post', '/admin/webhook-events/1/replay'],
      ['post', '/admin/webhook-events/replay-failed'],
      ['get', '/admin/jobs'],
      ['post', '/admin/jobs/retry-all'],
      ['get', `/admin/cache/meetings/${meetingId}`],
      ['post', `/admin/cache/meetings/${meetingId}/rebuild`],
      ['delete', `/admin/cache/meetings/${meetingId}`],
      ['get', '/admin/api-clients'],
      ['get', '/admin/control-actions'],
      ['get', '/admin/stats'],
    ] as const)('%s %s', async (method, url) => {
      const token = url.startsWith('/v1/') ? lookup() : admin;
      expectDocumented(method, url, await http()[method](url).set(token));
    });

    it('the lookup, the actions and API clients', async () => {
      const lookupUrl = `/v1/meetings/${meetingId}/phone/ms-open-id?wait_ms=0`;
      expectDocumented('post', lookupUrl, await http().post(lookupUrl).set(lookup()).send(numbers));
      const actions = `/v1/meetings/${meetingId}/phone-callers/actions`;
      const mute = { action: 'mute', phone_numbers: numbers.phone_numbers, wait_ms: 0 };
      const acted = await http().post(actions).set(admin).set('idempotency-key', 'k1').send(mute);
      expectDocumented('post', actions, acted);
      const reused = await http()
        .post(actions)
        .set(admin)
        .set('idempotency-key', 'k1')
        .send({ ...mute, action: 'unmute' });
      expectDocumented('post', actions, reused);
      expect(reused.status).toBe(409);
      expectDocumented(
        'get',
        '/admin/control-actions',
        await http().get('/admin/control-actions').set(admin),
      );

      const created = await http()
        .post('/admin/api-clients')
        .set(admin)
        .send({ name: 'dashboard', scopes: ['lookup', 'control'] });
      expectDocumented('post', '/admin/api-clients', created);
      const revoke = `/admin/api-clients/${(created.body as { id: string }).id}`;
      expectDocumented('delete', revoke, await http().delete(revoke).set(admin));
    });

    it("Tencent's callback", async () => {
      const check = signedDelivery(AES_TOKEN, 'hello', AES_KEY);
      const checkUrl = `/webhooks/tencent-meeting?check_str=${encodeURIComponent(check.data)}`;
      const echoed = await http().get(checkUrl).set(check.headers);
      expect(echoed.text).toBe('hello');
      expectDocumented('get', checkUrl, echoed);
      const delivery = signedDelivery(
        AES_TOKEN,
        buildEvent('meeting.started', { meetingId }),
        AES_KEY,
      );
      const url = '/webhooks/tencent-meeting';
      expectDocumented(
        'post',
        url,
        await http().post(url).set(delivery.headers).send({ data: delivery.data }),
      );
      const forged = { ...delivery.headers, signature: '0'.repeat(40) };
      expectDocumented(
        'post',
        url,
        await http().post(url).set(forged).send({ data: delivery.data }),
      );
      expectDocumented('get', url, await http().get(url));
    });

    it.each([
      ['no token', 'get', `/v1/meetings/${meetingId}/pstn-participants`, {}, undefined, 401],
      ['a token without the scope', 'get', '/admin/stats', 'lookup', undefined, 403],
      [
        'an unknown caller',
        'get',
        `/v1/meetings/${meetingId}/pstn-participants/nobody`,
        'lookup',
        undefined,
        404,
      ],
      ['a bad meeting id', 'get', '/v1/meetings/abc/pstn-participants', 'lookup', undefined, 400],
      [
        'a bad number',
        'put',
        `/v1/meetings/${meetingId}/tracked-numbers`,
        'lookup',
        { phone_numbers: [{ area: 'x', phone_number: 1 }] },
        400,
      ],
      ['a bad page', 'get', '/admin/meetings?page=0', 'admin', undefined, 400],
      ['an unknown meeting', 'post', '/admin/meetings/42/reconcile', 'admin', undefined, 404],
      ['an unknown job', 'post', '/admin/jobs/999999/retry', 'admin', undefined, 404],
      [
        'an unknown client',
        'delete',
        '/admin/api-clients/6f1c2b8e-2d4a-4c9e-9b1f-0a7e5d3c2b1a',
        'admin',
        undefined,
        404,
      ],
      [
        'a body too large',
        'post',
        '/webhooks/tencent-meeting',
        {},
        { data: 'x'.repeat(5000) },
        413,
      ],
      ['a URL too long', 'get', `/health/live?padding=${'x'.repeat(9000)}`, {}, undefined, 414],
      [
        'a URL that does not decode',
        'get',
        '/v1/meetings/%E0%A4%A/pstn-participants',
        'lookup',
        undefined,
        400,
      ],
    ] as const)('%s', async (_case, method, url, as, body, status) => {
      const token = as === 'lookup' ? lookup() : as === 'admin' ? admin : as;
      const res = await http()[method](url).set(token).send(body);
      expect(res.status).toBe(status);
      expectDocumented(method, url, res);
    });

    it.each([
      ['not JSON', 'application/json', '{"phone_numbers":', 400],
      ['of another type', 'application/xml', '<numbers/>', 415],
    ])('a body %s', async (_case, type, body, status) => {
      const url = `/v1/meetings/${meetingId}/phone/ms-open-id`;
      const res = await http().post(url).set(lookup()).set('content-type', type).send(body);
      expect(res.status).toBe(status);
      expectDocumented('post', url, res);
    });
  });
});
