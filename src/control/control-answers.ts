import { answer, COUNT, nullable, ROW_ID, TIMESTAMP } from '../common/answer-schemas';
import type { ErrorCase } from '../common/error-responses';
import { pageSchema } from '../common/paging';
import type { JsonSchema } from '../common/schema-validation';
import { MS_OPEN_ID } from '../lookup/lookup-answers';
import { ECHOED_PART_SCHEMA } from '../lookup/phone-number.schema';
import { ACTION_OUTCOMES } from './action-execution';
import { CONTROL_ACTIONS } from './phone-caller-action.schema';

/** The answers of the control routes, as the OpenAPI document shows them. */

const ACTION: JsonSchema = { type: 'string', enum: [...CONTROL_ACTIONS] };
const OUTCOME: JsonSchema = {
  type: 'string',
  enum: [...ACTION_OUTCOMES],
  description:
    '`done`: Tencent acted on the caller; `not_connected`: no connected caller by the deadline (no upstream call); `failed`: Tencent refused or could not be reached (see `error`)',
};
const UPSTREAM_ERROR: JsonSchema = answer(
  { code: { type: 'string' }, message: { type: 'string' } },
  [],
  "Why the call failed: Tencent's error_code, or `upstream_timeout`, `upstream_unreachable`, `upstream_unavailable`, `upstream_http_<status>`, `upstream_bad_answer`",
);

export const ACTION_ANSWER: JsonSchema = answer({
  meeting_id: { type: 'string', example: '13339451618278424869' },
  action: ACTION,
  results: {
    type: 'array',
    description:
      'One result per connected caller acted on (a number may have several), or per target without one; in the order asked',
    items: answer(
      {
        area: ECHOED_PART_SCHEMA,
        phone_number: ECHOED_PART_SCHEMA,
        ms_open_id: MS_OPEN_ID,
        outcome: OUTCOME,
        error: UPSTREAM_ERROR,
      },
      ['area', 'phone_number', 'ms_open_id', 'error'],
    ),
  },
});

export const ACTION_EXAMPLE = {
  meeting_id: '13339451618278424869',
  action: 'mute',
  results: [
    {
      area: 86,
      phone_number: '13888888888',
      ms_open_id: 'WMfgHRYj6m36mcDGtK',
      outcome: 'done',
    },
    { area: 86, phone_number: '13900000000', outcome: 'not_connected' },
    {
      area: 86,
      phone_number: '13700000000',
      ms_open_id: 'Xy7dKq2LmP9rTs4vWb',
      outcome: 'failed',
      error: { code: '9042', message: 'no permission to operate this meeting' },
    },
  ],
};

export const ACTION_REQUEST_EXAMPLE = {
  action: 'mute',
  phone_numbers: [{ area: 86, phone_number: 13888888888 }],
  wait_ms: 5000,
};

export const BAD_ACTION: readonly ErrorCase[] = [
  {
    code: 'bad_request',
    message: 'phone_numbers or ms_open_ids is required',
    when: 'the body breaks its schema or a rule between its fields',
  },
  {
    code: 'bad_request',
    message: 'Idempotency-Key must be 1 to 255 printable characters, without spaces',
  },
];

export const ACTION_CONFLICTS: readonly ErrorCase[] = [
  {
    code: 'idempotency_key_reused',
    message: 'this Idempotency-Key was used with another request in the last 24 hours',
  },
  {
    code: 'idempotency_key_in_progress',
    message:
      'a request with this Idempotency-Key is still in progress; ask again once it has answered',
  },
];

const RECORDED_RESULT: JsonSchema = answer(
  {
    phone_number: { type: 'string', description: 'Masked: `+86 138****8888`' },
    ms_open_id: { type: 'string' },
    outcome: OUTCOME,
    error: UPSTREAM_ERROR,
  },
  ['phone_number', 'ms_open_id', 'error'],
);

export const CONTROL_ACTIONS_PAGE: JsonSchema = pageSchema(
  answer({
    id: ROW_ID,
    created_at: TIMESTAMP,
    answered_at: nullable(TIMESTAMP),
    client_name: { type: 'string' },
    meeting_id: { type: 'string' },
    action: ACTION,
    allow_rejoin: nullable({ type: 'boolean', description: 'Kicks only' }),
    phone_numbers: nullable({
      type: 'array',
      items: { type: 'string' },
      description: 'The numbers asked, masked (null when the action named ms_open_ids)',
    }),
    ms_open_ids: {
      type: 'array',
      items: { type: 'string' },
      description: 'The callers Tencent was asked to act on',
    },
    results: nullable({ type: 'array', items: RECORDED_RESULT }),
    tencent_error_codes: { type: 'array', items: { type: 'integer' } },
    upstream_attempts: COUNT,
    latency_ms: nullable(COUNT),
  }),
);

export const CONTROL_ACTIONS_EXAMPLE = {
  items: [
    {
      id: '7',
      created_at: '2026-12-04T09:10:00.000Z',
      answered_at: '2026-12-04T09:10:00.412Z',
      client_name: 'meeting-control',
      meeting_id: '13339451618278424869',
      action: 'mute',
      allow_rejoin: null,
      phone_numbers: ['+86 138****8888'],
      ms_open_ids: ['WMfgHRYj6m36mcDGtK'],
      results: [
        { phone_number: '+86 138****8888', ms_open_id: 'WMfgHRYj6m36mcDGtK', outcome: 'done' },
      ],
      tencent_error_codes: [],
      upstream_attempts: 1,
      latency_ms: 412,
    },
  ],
  page: 1,
  page_size: 50,
  total: 1,
};
