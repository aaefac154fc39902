import { answer, COUNT, countsBy, nullable, TIMESTAMP } from '../common/answer-schemas';
import type { JsonSchema } from '../common/schema-validation';
import { PURPOSES } from '../tencent/upstream-rate-limiter';

/** The answer of /admin/stats, as the OpenAPI document shows it. */

export const STATS_ANSWER: JsonSchema = answer({
  webhook_events: countsBy('Stored webhook events by status'),
  meetings: countsBy('Meetings by status'),
  phone_callers: countsBy('Phone callers by status'),
  upstream_last_hour: answer({
    calls: COUNT,
    errors: COUNT,
    by_outcome: countsBy('ms-open-id calls of the last hour by outcome'),
  }),
  upstream_budget_this_minute: answer(
    {
      minute: { type: 'string', example: '2026-12-04T09:00', description: 'UTC' },
      per_minute: COUNT,
      used_by_purpose: answer(Object.fromEntries(PURPOSES.map((purpose) => [purpose, COUNT]))),
      remaining: COUNT,
    },
    [],
    "Tencent calls this minute, every replica's",
  ),
  queue: answer({ pending: COUNT, failed: COUNT, dead: COUNT, quarantined: COUNT }),
  oldest_unprocessed_event_at: nullable(TIMESTAMP),
});

export const STATS_EXAMPLE = {
  webhook_events: { processed: 1200, failed: 1, quarantined: 2 },
  meetings: { started: 3, ended: 40 },
  phone_callers: { connected: 5, left: 80 },
  upstream_last_hour: { calls: 30, errors: 1, by_outcome: { ok: 29, upstream_timeout: 1 } },
  upstream_budget_this_minute: {
    minute: '2026-12-04T09:00',
    per_minute: 280,
    used_by_purpose: { action: 0, lookup: 2, resolve: 5, reconcile: 0 },
    remaining: 273,
  },
  queue: { pending: 1, failed: 1, dead: 0, quarantined: 2 },
  oldest_unprocessed_event_at: '2026-12-04T08:59:58.000Z',
};
