import { answer, COUNT, nullable, ROW_ID, TIMESTAMP } from '../common/answer-schemas';
import type { ErrorCase } from '../common/error-responses';
import { pageSchema } from '../common/paging';
import type { JsonSchema } from '../common/schema-validation';
import { EVENT_STATUSES, JOB_STATES } from './admin-query.dto';

/** The answers of the webhook-event and job routes, as the OpenAPI document shows them. */

const EVENT = {
  id: ROW_ID,
  event: { type: 'string', example: 'meeting.participant-joined' },
  meeting_id: nullable({ type: 'string', description: "The first item's meeting" }),
  trace_id: nullable({ type: 'string' }),
  status: { type: 'string', enum: [...EVENT_STATUSES] },
  attempts: COUNT,
  last_error: nullable({ type: 'string' }),
  received_at: TIMESTAMP,
  processed_at: nullable(TIMESTAMP),
  run_after: { ...TIMESTAMP, description: 'When the worker may take it (again)' },
} satisfies Record<string, JsonSchema>;

const EVENT_EXAMPLE = {
  id: '42',
  event: 'meeting.participant-joined',
  meeting_id: '13339451618278424869',
  trace_id: 'e7aa65dd-0b3b-4a8f-8f8a-2d5c1b9e0f11',
  status: 'processed',
  attempts: 1,
  last_error: null,
  received_at: '2026-12-04T09:00:05.000Z',
  processed_at: '2026-12-04T09:00:05.020Z',
  run_after: '2026-12-04T09:00:05.000Z',
};

export const EVENTS_PAGE: JsonSchema = pageSchema(answer(EVENT));

export const EVENTS_EXAMPLE = { items: [EVENT_EXAMPLE], page: 1, page_size: 50, total: 1 };

export const EVENT_DETAIL: JsonSchema = answer({
  ...EVENT,
  payload: {
    description:
      'The decoded event as Tencent sent it, phone numbers masked unless revealed; null for a quarantined one',
  },
  raw: nullable({
    type: 'string',
    description: 'A quarantined event: the text it was kept as (masked unless revealed)',
  }),
});

export const EVENT_DETAIL_EXAMPLE = {
  ...EVENT_EXAMPLE,
  payload: {
    event: 'meeting.participant-joined',
    trace_id: 'e7aa65dd-0b3b-4a8f-8f8a-2d5c1b9e0f11',
    payload: [
      {
        operate_time: 1764838805000,
        operator: {
          ms_open_id: 'WMfgHRYj6m36mcDGtK',
          instance_id: '0',
          pstn_number: '+86 138****8888',
        },
        meeting_info: { meeting_id: '13339451618278424869', meeting_code: '806146667' },
      },
    ],
  },
  raw: null,
};

export const REPLAYED_ANSWER: JsonSchema = answer({
  id: ROW_ID,
  replayed: { type: 'boolean', enum: [true] },
});

export const REPLAYED_COUNT: JsonSchema = answer({ replayed: COUNT });

const JOB = {
  id: { ...ROW_ID, description: "The stored event's id" },
  state: { type: 'string', enum: [...JOB_STATES] },
  event: { type: 'string', example: 'meeting.participant-joined' },
  meeting_id: nullable({ type: 'string' }),
  error: nullable({ type: 'string', description: 'The error of the last attempt' }),
  attempts: COUNT,
  received_at: TIMESTAMP,
  next_attempt_at: nullable({ ...TIMESTAMP, description: 'A failed job only' }),
} satisfies Record<string, JsonSchema>;

export const JOBS_PAGE: JsonSchema = pageSchema(answer(JOB));

export const JOBS_EXAMPLE = {
  items: [
    {
      id: '42',
      state: 'failed',
      event: 'meeting.participant-joined',
      meeting_id: '13339451618278424869',
      error: 'Connection terminated unexpectedly',
      attempts: 2,
      received_at: '2026-12-04T09:00:05.000Z',
      next_attempt_at: '2026-12-04T09:00:09.000Z',
    },
  ],
  page: 1,
  page_size: 50,
  total: 1,
};

export const RETRIED_ANSWER: JsonSchema = answer({
  id: ROW_ID,
  retried: { type: 'boolean', enum: [true] },
});

export const RETRIED_COUNT: JsonSchema = answer({ retried: COUNT });

export const BAD_EVENT_ID: ErrorCase = {
  code: 'bad_request',
  message: 'id must be a positive integer within bigint range',
};

export const EVENT_NOT_FOUND: ErrorCase = {
  code: 'event_not_found',
  message: 'no webhook event with this id',
};

export const JOB_NOT_FOUND: ErrorCase = {
  code: 'job_not_found',
  message: 'no failed or dead job with this id',
};
