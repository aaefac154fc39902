import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import type { Page } from '../common/paging';
import { WebhookEventQueue } from '../queue/webhook-event.queue';
import type { JobsQueryDto } from './admin-query.dto';
import { MASKED } from './phone-masking';
import { JOB_NOT_FOUND } from './webhook-event-answers';

/**
 * The queue's failures. A job is a stored webhook event's processing: `failed` ones wait for
 * their next attempt, `dead` ones ran out of attempts; retrying one makes it pending now.
 */
@Injectable()
export class JobsAdminService {
  constructor(private readonly queue: WebhookEventQueue) {}

  async list(query: JobsQueryDto): Promise<Page<ReturnType<typeof jobView>>> {
    const rows = await this.queue.failed(query.state, query);
    return { ...rows, items: rows.items.map(jobView) };
  }

  async retry(id: string): Promise<void> {
    if ((await this.queue.replay([id], ['failed', 'dead'])) === 0) {
      throw ApiError.of(404, JOB_NOT_FOUND);
    }
  }

  /** Retries every failed and dead job; answers how many. */
  retryAll(): Promise<number> {
    return this.queue.replayAll(['failed', 'dead']);
  }
}

function jobView(row: Record<string, unknown>) {
  return {
    id: row.id,
    state: row.status,
    event: row.event,
    meeting_id: row.meeting_id,
    error: MASKED.value(row.last_error as string | null),
    attempts: row.attempts,
    received_at: row.received_at,
    next_attempt_at: row.status === 'failed' ? row.run_after : null,
  };
}
