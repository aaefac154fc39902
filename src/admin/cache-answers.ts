import { answer, COUNT, nullable, TIMESTAMP } from '../common/answer-schemas';
import type { JsonSchema } from '../common/schema-validation';
import { MS_OPEN_ID } from '../lookup/lookup-answers';

/** The answers of the cache routes, as the OpenAPI document shows them. */

const MEETING_ID: JsonSchema = { type: 'string', example: '13339451618278424869' };

export const CACHE_ENTRIES: JsonSchema = answer({
  meeting_id: MEETING_ID,
  numbers: {
    type: 'array',
    description: 'Number -> ids entries; the number appears as the HMAC the cache keys it by',
    items: answer({
      field: { type: 'string', pattern: '^[0-9a-f]{32}$' },
      value: {
        type: 'object',
        description:
          'As cached: `{"ids": [{"msOpenId", "status"}]}`, or `{"neg": <epoch ms>}` (no id, believed until then)',
      },
    }),
  },
  callers: {
    type: 'array',
    description: 'ms_open_id -> caller entries',
    items: answer({
      ms_open_id: MS_OPEN_ID,
      status: { type: 'string', enum: ['connected', 'left'] },
      joinedAt: nullable(TIMESTAMP),
      leftAt: nullable(TIMESTAMP),
      number: nullable({ type: 'string', description: 'Masked unless revealed' }),
    }),
  },
});

export const CACHE_ENTRIES_EXAMPLE = {
  meeting_id: '13339451618278424869',
  numbers: [
    {
      field: '7d314db5e78aa85e6f7e9e1cc5cf801b',
      value: { ids: [{ msOpenId: 'WMfgHRYj6m36mcDGtK', status: 'connected' }] },
    },
  ],
  callers: [
    {
      ms_open_id: 'WMfgHRYj6m36mcDGtK',
      status: 'connected',
      joinedAt: '2026-12-04T09:00:05.000Z',
      leftAt: null,
      number: '+86 138****8888',
    },
  ],
};

export const REBUILT_ANSWER: JsonSchema = answer({
  meeting_id: MEETING_ID,
  numbers: { ...COUNT, description: 'How many numbers were cached again' },
});
