import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { WEBHOOK_EVENT_DEAD_QUEUE, WEBHOOK_EVENT_QUEUE } from '../queue/job-queue';

type Counts = Record<string, number>;

/** The numbers /admin/stats answers, read from our tables and pg-boss's. */
@Injectable()
export class StatsService {
  constructor(private readonly dataSource: DataSource) {}

  async read() {
    const [events, meetings, callers, upstream, queue, oldest] = await Promise.all([
      this.counts(`SELECT status AS key, count(*) AS n FROM webhook_events GROUP BY status`),
      this.counts(`SELECT status AS key, count(*) AS n FROM meetings GROUP BY status`),
      this.counts(`SELECT status AS key, count(*) AS n FROM pstn_participants GROUP BY status`),
      this.counts(
        `SELECT outcome AS key, count(*) AS n FROM resolution_attempts
          WHERE created_at > now() - interval '1 hour' GROUP BY outcome`,
      ),
      this.counts(
        `SELECT CASE WHEN name = $2 THEN 'dead' ELSE state::text END AS key, count(*) AS n
           FROM pgboss.job
          WHERE (name = $1 AND state IN ('created', 'retry', 'active'))
             OR (name = $2 AND state = 'created')
          GROUP BY 1`,
        [WEBHOOK_EVENT_QUEUE, WEBHOOK_EVENT_DEAD_QUEUE],
      ),
      this.dataSource.query<{ received_at: Date | null }[]>(
        `SELECT min(received_at) AS received_at FROM webhook_events WHERE status = 'received'`,
      ),
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
      queue: { created: 0, retry: 0, active: 0, dead: 0, ...queue },
      oldest_unprocessed_event_at: oldest[0].received_at,
    };
  }

  private async counts(sql: string, params: unknown[] = []): Promise<Counts> {
    const rows = await this.dataSource.query<{ key: string; n: string }[]>(sql, params);
    return Object.fromEntries(rows.map((row) => [row.key, Number(row.n)]));
  }
}
