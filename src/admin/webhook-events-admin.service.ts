import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiError } from '../common/api-error';
import { JobQueue } from '../queue/job-queue';
import type { WebhookEventsQueryDto } from './admin-query.dto';
import { pagedQuery, type Page } from './paging.dto';

const EVENT_COLUMNS = `id, event, meeting_id, trace_id, status, attempts, last_error,
  received_at, processed_at`;

type Row = Record<string, unknown>;

/** Stored webhook events for operators: list, read one, and process again through the queue. */
@Injectable()
export class WebhookEventsAdminService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueue,
  ) {}

  /** Newest first. */
  list(query: WebhookEventsQueryDto): Promise<Page<Row>> {
    return pagedQuery(
      this.dataSource,
      `SELECT ${EVENT_COLUMNS} FROM webhook_events
        WHERE ($1::text IS NULL OR event = $1)
          AND ($2::text IS NULL OR meeting_id = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::timestamptz IS NULL OR received_at >= $4)
          AND ($5::timestamptz IS NULL OR received_at < $5)
        ORDER BY id DESC`,
      [
        query.event ?? null,
        query.meeting_id ?? null,
        query.status ?? null,
        query.from ?? null,
        query.to ?? null,
      ],
      query,
    );
  }

  /** One event with its decoded payload. */
  async get(id: string): Promise<Row & { payload: unknown }> {
    const [row] = await this.dataSource.query<(Row & { payload: unknown })[]>(
      `SELECT ${EVENT_COLUMNS}, payload FROM webhook_events WHERE id = $1`,
      [id],
    );
    if (!row) throw new ApiError(404, 'event_not_found', 'no webhook event with this id');
    return row;
  }

  /** Queues the event's processing again; applying an event twice changes nothing. */
  async replay(id: string): Promise<void> {
    const rows = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM webhook_events WHERE id = $1`,
      [id],
    );
    if (rows.length === 0) {
      throw new ApiError(404, 'event_not_found', 'no webhook event with this id');
    }
    await this.enqueue([id]);
  }

  /** Queues every failed event again; answers how many. */
  async replayFailed(): Promise<number> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM webhook_events WHERE status = 'failed' ORDER BY id`,
    );
    await this.enqueue(rows.map((row) => row.id));
    return rows.length;
  }

  private async enqueue(ids: string[]): Promise<void> {
    await this.queue.enqueueWebhookEvents(ids);
    this.queue.wakeWebhookWorker();
  }
}
