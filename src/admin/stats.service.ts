import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { WebhookEventQueue } from '../queue/webhook-event.queue';
import { UpstreamRateLimiter } from '../tencent/upstream-rate-limiter';

type Counts = Record<string, number>;

/** The numbers /admin/stats answers. */
@Injectable()
export class StatsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: WebhookEventQueue,
    private readonly limiter: UpstreamRateLimiter,
  ) {}

  async read() {
    const [events, meetings, callers, upstream, oldest, budget] = await Promise.all([
      this.queue.countsByStatus(),
      this.counts(`SELECT status AS key, count(*) AS n FROM meetings GROUP BY status`),
      this.counts(`SELECT status AS key, count(*) AS n FROM pstn_participants GROUP BY status`),
      this.counts(
        `SELECT outcome AS key, count(*) AS n FROM resolution_attempts
          WHERE created_at > now() - interval '1 hour' GROUP BY outcome`,
      ),
      this.queue.oldestPendingAt(),
      this.limiter.budget(),
    ]);
    const upstreamCalls = Object.values(upstream).reduce((sum, n) => sum + n, 0);
    return {
      webhook_events: events,
      meetings,
      phone_callers: callers,
      upstream_last_hour: {
        calls: upstreamCalls,
        errors: upstreamCalls - (upstream.ok ?? 0),
        by_outcome: upstream,
      },
      upstream_budget_this_minute: {
        minute: budget.minute,
        per_minute: budget.perMinute,
        used_by_purpose: budget.used,
        remaining: budget.remaining,
      },
      queue: {
        pending: (events.received ?? 0) + (events.failed ?? 0),
        failed: events.failed ?? 0,
        dead: events.dead ?? 0,
        quarantined: events.quarantined ?? 0,
      },
      oldest_unprocessed_event_at: oldest,
    };
  }

  private async counts(sql: string): Promise<Counts> {
    const rows = await this.dataSource.query<{ key: string; n: string }[]>(sql);
    return Object.fromEntries(rows.map((row) => [row.key, Number(row.n)]));
  }
}
