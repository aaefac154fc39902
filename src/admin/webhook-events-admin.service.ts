import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import type { Page } from '../common/paging';
import { WebhookEventQueue, type StoredEvent } from '../queue/webhook-event.queue';
import type { WebhookEventsQueryDto } from './admin-query.dto';
import { MASKED } from './phone-masking';
import { EVENT_NOT_FOUND } from './webhook-event-answers';

type Row = Record<string, unknown>;

/** Stored webhook events for operators: list, read one, and process again. */
@Injectable()
export class WebhookEventsAdminService {
  constructor(private readonly queue: WebhookEventQueue) {}

  /** Newest first; errors masked by value (Postgres may quote the value it refused). */
  async list(query: WebhookEventsQueryDto): Promise<Page<Row>> {
    const page = await this.queue.list(
      {
        event: query.event,
        meetingId: query.meeting_id,
        status: query.status,
        from: query.from,
        to: query.to,
      },
      query,
    );
    return {
      ...page,
      items: page.items.map((row) => ({
        ...row,
        last_error: MASKED.value(row.last_error as string | null),
      })),
    };
  }

  /** One event with its decoded payload (or, quarantined, the text it was kept as). */
  async get(id: string): Promise<StoredEvent> {
    const row = await this.queue.get(id);
    if (!row) throw ApiError.of(404, EVENT_NOT_FOUND);
    return row;
  }

  /** Processes the event again (a quarantined one from its text); applying twice changes nothing. */
  async replay(id: string): Promise<void> {
    if ((await this.queue.replay([id])) === 0) {
      throw ApiError.of(404, EVENT_NOT_FOUND);
    }
  }

  /** Processes every failed and dead event again; answers how many. */
  replayFailed(): Promise<number> {
    return this.queue.replayAll(['failed', 'dead']);
  }
}
