import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OperationObject } from '@nestjs/swagger';
import type { ScopedRouteConfig } from '../auth/require-scope';
import { authErrors, scopedOperation } from '../auth/scope-docs';
import { errorResponses, type ErrorCase } from '../common/error-responses';
import type { JsonSchema } from '../common/schema-validation';
import { MAX_NUMBERS } from './lookup.controller';
import { LookupService } from './lookup.service';
import { BAD_MEETING_ID, MEETING_ID_PARAMS_SCHEMA, MEETING_ID_SCHEMA } from './id-rules';
import { MS_OPEN_ID_EXAMPLE, TOO_MANY_TRACKED_NUMBERS } from './lookup-answers';
import type { NumberIds } from './mapping.cache';
import {
  BAD_PHONE_NUMBER,
  ECHOED_PART_SCHEMA,
  phoneNumbersSchema,
  toPhoneNumbers,
  type PhoneNumberBody,
} from './phone-number.schema';

export const MS_OPEN_ID_ROUTE = '/v1/meetings/:meetingId/phone/ms-open-id';

/** Tencent's request; the operator fields are accepted and ignored (ours is configured). */
const BODY: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['phone_numbers'],
  properties: {
    operator_id: { type: 'string', example: 'songe' },
    operator_id_type: { type: 'integer', example: 1 },
    phone_numbers: phoneNumbersSchema(MAX_NUMBERS),
  },
};

/** 0 to 30000 ms, as digits: query strings are not coerced, so the rule is the pattern. */
const WAIT_MS_SCHEMA: JsonSchema = {
  type: 'string',
  pattern: '^(?:[0-9]{1,4}|[12][0-9]{4}|30000)$',
  'x-error-message': 'must be a whole number of milliseconds from 0 to 30000',
  description:
    'Wait up to this long for every number asked to have a connected id (default 0: answer with what is known, after the one upstream call a lookup may make)',
};

const BAD_WAIT_MS: ErrorCase = {
  code: 'bad_request',
  message: `wait_ms ${WAIT_MS_SCHEMA['x-error-message']}`,
};

const QUERY: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { wait_ms: WAIT_MS_SCHEMA },
};

const ANSWER: JsonSchema = {
  type: 'object',
  properties: {
    meeting_id: { type: 'string' },
    ms_open_id_list: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          area: ECHOED_PART_SCHEMA,
          phone_number: ECHOED_PART_SCHEMA,
          ms_open_id: { type: 'string' },
          status: { type: 'string', enum: ['connected', 'left'] },
        },
      },
    },
  },
};

type Request = FastifyRequest<{
  Params: { meetingId: string };
  Querystring: { wait_ms?: string };
  Body: { phone_numbers: PhoneNumberBody[] };
}>;

/**
 * The drop-in for Tencent's endpoint, the hottest route: served by a route on the app's own
 * Fastify, so Fastify compiles its body, query and answer schemas and its body limit, parser,
 * hooks and request log apply, while Nest's per-request pipeline (guards, pipes, interceptors)
 * is skipped. Its scope is route config, checked by the same hook as every other route's.
 */
@Injectable()
export class MsOpenIdRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly lookups: LookupService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.route({
      method: 'POST',
      url: MS_OPEN_ID_ROUTE,
      schema: {
        params: MEETING_ID_PARAMS_SCHEMA,
        querystring: QUERY,
        body: BODY,
        response: { 200: ANSWER },
      },
      config: { scope: 'lookup' } satisfies ScopedRouteConfig,
      handler: async (request: Request) => {
        const { meetingId } = request.params;
        const asked = request.body.phone_numbers;
        const ids = await this.lookups.lookup(
          meetingId,
          toPhoneNumbers(asked),
          Number(request.query.wait_ms ?? 0),
        );
        return { meeting_id: meetingId, ms_open_id_list: listItems(asked, ids) };
      },
    });
  }
}

/**
 * Tencent's list shape: one item per id, numbers echoed in the form they were asked. Loops
 * rather than flatMap: on this route flatMap cost ~0.2 us a lookup, six times the loops.
 */
function listItems(asked: PhoneNumberBody[], ids: NumberIds[]) {
  const items = [];
  for (const [index, number] of asked.entries()) {
    for (const id of ids[index].ids) {
      items.push({
        area: number.area,
        phone_number: number.phone_number,
        ms_open_id: id.msOpenId,
        status: id.status,
      });
    }
  }
  return items;
}

/** The route in the OpenAPI document: the same schemas Fastify validates with. */
export const MS_OPEN_ID_OPERATION: OperationObject = {
  operationId: 'MsOpenIdRoute_lookup',
  tags: ['lookup'],
  ...scopedOperation('lookup'),
  summary: "Drop-in for Tencent's ms-open-id endpoint",
  description:
    "Same request and answer as Tencent's; each item also has `status`. Answers from the cache, then Postgres; a number never resolved in a meeting with a connected phone caller is asked of Tencent once. Every number asked about becomes tracked; a meeting not seen yet answers an empty list.",
  parameters: [
    { name: 'meetingId', in: 'path', required: true, schema: MEETING_ID_SCHEMA },
    { name: 'wait_ms', in: 'query', required: false, schema: WAIT_MS_SCHEMA },
  ],
  requestBody: {
    required: true,
    content: {
      'application/json': {
        schema: BODY,
        example: {
          operator_id: 'songe',
          operator_id_type: 1,
          phone_numbers: [{ area: 86, phone_number: 13888888888 }],
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The ids Tencent gave each number asked',
      content: { 'application/json': { schema: ANSWER, example: MS_OPEN_ID_EXAMPLE } },
    },
    ...errorResponses({
      ...authErrors('lookup'),
      400: [BAD_MEETING_ID, BAD_WAIT_MS, BAD_PHONE_NUMBER],
      409: TOO_MANY_TRACKED_NUMBERS,
    }),
  },
};
