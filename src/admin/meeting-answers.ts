import { answer, COUNT, nullable, ROW_ID, TIMESTAMP } from '../common/answer-schemas';
import type { ErrorCase } from '../common/error-responses';
import { pageSchema } from '../common/paging';
import type { JsonSchema } from '../common/schema-validation';
import { MS_OPEN_ID } from '../lookup/lookup-answers';
import { MEETING_STATUSES } from '../tracking/meeting.entity';

/** The answers of the meetings routes, as the OpenAPI document shows them. */

const MEETING_ID: JsonSchema = { type: 'string', example: '13339451618278424869' };
const TEXT = nullable({ type: 'string' });
/** Numbers are masked (`+86 138****8888`) unless `?reveal=true`. */
const NUMBER = nullable({
  type: 'string',
  description: 'Masked (`+86 138****8888`) unless revealed; null while unknown',
});

const MEETING = {
  meeting_id: MEETING_ID,
  meeting_code: TEXT,
  subject: TEXT,
  status: { type: 'string', enum: [...MEETING_STATUSES] },
  started_at: nullable(TIMESTAMP),
  ended_at: nullable(TIMESTAMP),
  last_event_at: TIMESTAMP,
  created_at: { ...TIMESTAMP, description: 'When the service first heard of the meeting' },
  connected_callers: COUNT,
  mapped_ids: COUNT,
} satisfies Record<string, JsonSchema>;

const MEETING_EXAMPLE = {
  meeting_id: '13339451618278424869',
  meeting_code: '806146667',
  subject: 'Weekly sync',
  status: 'started',
  started_at: '2026-12-04T09:00:00.000Z',
  ended_at: null,
  last_event_at: '2026-12-04T09:00:05.000Z',
  created_at: '2026-12-04T09:00:00.100Z',
  connected_callers: 1,
  mapped_ids: 1,
};

export const MEETINGS_PAGE: JsonSchema = pageSchema(answer(MEETING));

export const MEETINGS_EXAMPLE = { items: [MEETING_EXAMPLE], page: 1, page_size: 50, total: 1 };

export const MEETING_DETAIL: JsonSchema = answer({
  ...MEETING,
  phone_callers: {
    type: 'array',
    items: answer({
      ms_open_id: MS_OPEN_ID,
      status: { type: 'string', enum: ['connected', 'left'] },
      pstn_number: nullable({ type: 'string', description: 'As Tencent sent it, masked' }),
      joined_at: nullable(TIMESTAMP),
      left_at: nullable(TIMESTAMP),
      last_operate_time: TIMESTAMP,
      number: NUMBER,
    }),
  },
  tracked_numbers: {
    type: 'array',
    items: answer({
      source: { type: 'string', enum: ['api', 'webhook', 'callout'] },
      created_at: TIMESTAMP,
      first_resolved_at: nullable(TIMESTAMP),
      last_resolved_at: nullable(TIMESTAMP),
      number: NUMBER,
    }),
  },
  mappings: {
    type: 'array',
    items: answer({ ms_open_id: MS_OPEN_ID, resolved_at: TIMESTAMP, number: NUMBER }),
  },
  recent_events: {
    type: 'array',
    description: 'The last 50 phone events, newest first',
    items: answer({
      id: ROW_ID,
      source: { type: 'string', enum: ['webhook', 'reconciliation'] },
      webhook_event_id: nullable(ROW_ID),
      kind: { type: 'string', example: 'joined' },
      ms_open_id: nullable(MS_OPEN_ID),
      phone_status: TEXT,
      operate_time: nullable(TIMESTAMP),
      created_at: TIMESTAMP,
    }),
  },
  resolution_attempts: {
    type: 'array',
    description: 'The last 50 ms-open-id calls, newest first',
    items: answer({
      id: ROW_ID,
      numbers_asked: COUNT,
      ids_returned: COUNT,
      outcome: { type: 'string', example: 'ok' },
      http_status: nullable({ type: 'integer' }),
      error_code: nullable({ type: 'integer' }),
      new_error_code: nullable({ type: 'integer' }),
      latency_ms: COUNT,
      created_at: TIMESTAMP,
    }),
  },
});

export const MEETING_DETAIL_EXAMPLE = {
  ...MEETING_EXAMPLE,
  phone_callers: [
    {
      ms_open_id: 'WMfgHRYj6m36mcDGtK',
      status: 'connected',
      pstn_number: '+86 138****8888',
      joined_at: '2026-12-04T09:00:05.000Z',
      left_at: null,
      last_operate_time: '2026-12-04T09:00:05.000Z',
      number: '+86 138****8888',
    },
  ],
  tracked_numbers: [
    {
      source: 'api',
      created_at: '2026-12-04T08:59:00.000Z',
      first_resolved_at: '2026-12-04T09:00:06.000Z',
      last_resolved_at: '2026-12-04T09:00:06.000Z',
      number: '+86 138****8888',
    },
  ],
  mappings: [
    {
      ms_open_id: 'WMfgHRYj6m36mcDGtK',
      resolved_at: '2026-12-04T09:00:06.000Z',
      number: '+86 138****8888',
    },
  ],
  recent_events: [
    {
      id: '12',
      source: 'webhook',
      webhook_event_id: '42',
      kind: 'joined',
      ms_open_id: 'WMfgHRYj6m36mcDGtK',
      phone_status: null,
      operate_time: '2026-12-04T09:00:05.000Z',
      created_at: '2026-12-04T09:00:05.100Z',
    },
  ],
  resolution_attempts: [
    {
      id: '3',
      numbers_asked: 1,
      ids_returned: 1,
      outcome: 'ok',
      http_status: 200,
      error_code: null,
      new_error_code: null,
      latency_ms: 48,
      created_at: '2026-12-04T09:00:06.000Z',
    },
  ],
};

export const RESOLVE_ANSWER: JsonSchema = answer({ meeting_id: MEETING_ID });

export const RECONCILE_ANSWER: JsonSchema = answer({
  meeting_id: MEETING_ID,
  tencent_status: nullable({
    type: 'string',
    description:
      "Tencent's state of the meeting: `MEETING_STATE_STARTED`, `MEETING_STATE_ENDED`, ...",
  }),
  repaired: answer({ joined: COUNT, left: COUNT, ended: COUNT }),
  waiting: answer(
    { joined: COUNT, left: COUNT },
    [],
    'Disagreements still within their grace period',
  ),
  next_read_at: nullable({
    ...TIMESTAMP,
    description: 'When the roster is read again for them (null: when its turn comes)',
  }),
});

export const RECONCILE_EXAMPLE = {
  meeting_id: '13339451618278424869',
  tencent_status: 'MEETING_STATE_STARTED',
  repaired: { joined: 1, left: 0, ended: 0 },
  waiting: { joined: 0, left: 1 },
  next_read_at: '2026-12-04T09:30:00.000Z',
};

export const MEETING_NOT_FOUND: ErrorCase = {
  code: 'meeting_not_found',
  message: 'no such meeting has been seen',
};

export const MEETING_NOT_OPEN: ErrorCase = {
  code: 'meeting_not_open',
  message: 'the meeting has ended: there is nothing to repair',
};

export const ROSTER_UNAVAILABLE: ErrorCase = {
  code: 'roster_unavailable',
  message:
    "Tencent's roster could not be read: Tencent did not answer in time; it is read again later",
  when: "Tencent's roster could not be read (the message says why); it is read again later",
};
