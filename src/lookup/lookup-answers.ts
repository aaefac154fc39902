import { answer, nullable, TIMESTAMP } from '../common/answer-schemas';
import type { ErrorCase } from '../common/error-responses';
import type { JsonSchema } from '../common/schema-validation';
import { ECHOED_PART_SCHEMA } from './phone-number.schema';

/** The answers of the lookup routes, as the OpenAPI document shows them. */

const MEETING_ID: JsonSchema = { type: 'string', example: '13339451618278424869' };
/** Tencent's id of a caller in a meeting, as Tencent gave it. */
export const MS_OPEN_ID: JsonSchema = { type: 'string', example: 'WMfgHRYj6m36mcDGtK' };
const STATUS: JsonSchema = { type: 'string', enum: ['connected', 'left'] };
const DIGITS: JsonSchema = { type: 'string', pattern: '^[0-9]+$' };

export const TRACKED_NUMBERS_ANSWER: JsonSchema = answer({
  meeting_id: MEETING_ID,
  phone_numbers: {
    type: 'array',
    description: 'Each number in the order asked, with the ids it has now',
    items: answer({
      area: ECHOED_PART_SCHEMA,
      phone_number: ECHOED_PART_SCHEMA,
      ms_open_ids: {
        type: 'array',
        items: answer({ ms_open_id: MS_OPEN_ID, status: STATUS }),
      },
    }),
  },
});

export const TRACKED_NUMBERS_EXAMPLE = {
  meeting_id: '13339451618278424869',
  phone_numbers: [
    {
      area: 86,
      phone_number: 13888888888,
      ms_open_ids: [{ ms_open_id: 'WMfgHRYj6m36mcDGtK', status: 'connected' }],
    },
    { area: '86', phone_number: '13900000000', ms_open_ids: [] },
  ],
};

const PARTICIPANT = {
  ms_open_id: MS_OPEN_ID,
  instance_id: { type: 'integer', enum: [0], description: "Tencent's device type of a phone" },
  area: nullable({ ...DIGITS, description: 'Country calling code, once the number is known' }),
  phone_number: nullable({ ...DIGITS, description: 'National number, once it is known' }),
  status: STATUS,
  joined_at: nullable(TIMESTAMP),
  left_at: nullable(TIMESTAMP),
} satisfies Record<string, JsonSchema>;

const PARTICIPANT_EXAMPLE = {
  ms_open_id: 'WMfgHRYj6m36mcDGtK',
  instance_id: 0,
  area: '86',
  phone_number: '13888888888',
  status: 'connected',
  joined_at: '2026-12-04T09:00:05.000Z',
  left_at: null,
};

export const PARTICIPANTS_ANSWER: JsonSchema = answer({
  meeting_id: MEETING_ID,
  participants: { type: 'array', items: answer(PARTICIPANT) },
});

export const PARTICIPANTS_EXAMPLE = {
  meeting_id: '13339451618278424869',
  participants: [PARTICIPANT_EXAMPLE],
};

export const PARTICIPANT_ANSWER: JsonSchema = answer({ meeting_id: MEETING_ID, ...PARTICIPANT });

export const PARTICIPANT_EXAMPLE_ANSWER = {
  meeting_id: '13339451618278424869',
  ...PARTICIPANT_EXAMPLE,
};

export const PSTN_EVENTS_EXAMPLE = [
  ': connected',
  '',
  'id: 1764838805000-0',
  'event: participant.joined',
  'data: {"meeting_id":"13339451618278424869","ms_open_id":"WMfgHRYj6m36mcDGtK"}',
  '',
  'id: 1764838806000-0',
  'event: participant.resolved',
  'data: {"meeting_id":"13339451618278424869","ms_open_id":"WMfgHRYj6m36mcDGtK","area":"86","phone_number":"13888888888"}',
  '',
  ': heartbeat',
  '',
  '',
].join('\n');

export const MS_OPEN_ID_EXAMPLE = {
  meeting_id: '13339451618278424869',
  ms_open_id_list: [
    {
      area: 86,
      phone_number: 13888888888,
      ms_open_id: 'WMfgHRYj6m36mcDGtK',
      status: 'connected',
    },
  ],
};

export const TOO_MANY_TRACKED_NUMBERS: ErrorCase = {
  code: 'too_many_tracked_numbers',
  message: 'a meeting tracks at most 500 numbers; this one would track more',
  when: 'the meeting would track more than TRACKED_NUMBERS_PER_MEETING numbers',
};

export const PARTICIPANT_NOT_FOUND: ErrorCase = {
  code: 'participant_not_found',
  message: 'no phone caller with this ms_open_id',
};

export const TOO_MANY_STREAMS: readonly ErrorCase[] = [
  {
    code: 'too_many_streams',
    message: 'this client already holds 50 event streams',
    when: 'the API client holds SSE_MAX_STREAMS_PER_CLIENT streams already',
  },
  {
    code: 'too_many_streams',
    message: 'this instance holds as many event streams as it may',
    when: 'the instance holds SSE_MAX_STREAMS streams already',
  },
];

/** A query that breaks its rule: an unknown property, a value outside its enum. */
export const BAD_PARTICIPANTS_QUERY: ErrorCase = {
  code: 'bad_request',
  message: 'status must be one of the following values: connected, left, all',
  when: 'the query breaks its rule, or names a property the route does not take',
};

export const CACHE_UNAVAILABLE: ErrorCase = {
  code: 'cache_unavailable',
  message: 'Redis is not answering',
};
