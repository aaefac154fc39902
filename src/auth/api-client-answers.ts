import { answer, nullable, TIMESTAMP } from '../common/answer-schemas';
import type { ErrorCase } from '../common/error-responses';
import { pageSchema } from '../common/paging';
import type { JsonSchema } from '../common/schema-validation';
import { SCOPES } from './api-client.entity';

/** The answers of the API-client routes, as the OpenAPI document shows them. */

const CLIENT = {
  id: { type: 'string', format: 'uuid' },
  name: { type: 'string' },
  scopes: { type: 'array', items: { type: 'string', enum: [...SCOPES] } },
  created_at: TIMESTAMP,
  revoked_at: nullable(TIMESTAMP),
  last_used_at: nullable({ ...TIMESTAMP, description: 'When its token was last verified' }),
} satisfies Record<string, JsonSchema>;

const CLIENT_EXAMPLE = {
  id: '6f1c2b8e-2d4a-4c9e-9b1f-0a7e5d3c2b1a',
  name: 'meeting-control',
  scopes: ['lookup'],
  created_at: '2026-12-04T08:00:00.000Z',
  revoked_at: null,
  last_used_at: null,
};

export const CREATED_CLIENT: JsonSchema = answer({
  ...CLIENT,
  token: {
    type: 'string',
    pattern: '^pt_[A-Za-z0-9_-]{43}$',
    description: 'The Bearer token: shown this once, only its SHA-256 is kept',
  },
});

export const CREATED_CLIENT_EXAMPLE = {
  ...CLIENT_EXAMPLE,
  token: 'pt_QPgKUQbMS2zaiCXdhsrNTvE2BfxnYduykp95POp3gGg',
};

export const CLIENTS_PAGE: JsonSchema = pageSchema(answer(CLIENT));

export const CLIENTS_EXAMPLE = { items: [CLIENT_EXAMPLE], page: 1, page_size: 50, total: 1 };

export const BAD_CLIENT: ErrorCase = {
  code: 'bad_request',
  message: 'name must be 1 to 100 characters, none of them a control character or a lone surrogate',
  when: 'the body breaks its schema (the message names the field and its rule)',
};

export const BAD_CLIENT_ID: ErrorCase = {
  code: 'bad_request',
  message: 'Validation failed (uuid is expected)',
};

export const CLIENT_NOT_FOUND: ErrorCase = {
  code: 'not_found',
  message: 'no API client with this id',
};
