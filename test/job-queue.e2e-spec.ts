import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, WEBHOOK_EVENT_QUEUE } from '../src/queue/job-queue';
import { startTestStack, type TestStack } from './support/test-stack';

/**
 * Intake and the sweep create webhook-event jobs with their own SQL (so that a batch is stored
 * and enqueued in one statement); the rows must be the ones pg-boss itself would create.
 */
describe('webhook-event jobs', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.close());

  // What a job is created with (the worker may have run these jobs meanwhile: no events).
  const JOB_COLUMNS = `name, priority, data, retry_limit, retry_delay, retry_backoff, singleton_key, singleton_on, expire_in, dead_letter, policy,
    keep_until - created_on AS kept_for, start_after - created_on AS delayed_by`;

  it('are the rows pg-boss would create', async () => {
    const queue = stack.t.app.get(JobQueue);
    const sentId = '999';
    await queue.enqueueWebhookEvents(['1', '2', '3']);
    await queue.boss.send(WEBHOOK_EVENT_QUEUE, { eventIds: [sentId] });

    const jobs = await stack.t.db.query<Record<string, unknown>[]>(
      `SELECT ${JOB_COLUMNS} FROM pgboss.job WHERE name = $1 ORDER BY data->'eventIds'->>0`,
      [WEBHOOK_EVENT_QUEUE],
    );
    expect(jobs).toHaveLength(2);
    const [ours, theirs] = jobs;
    expect(ours.data).toEqual({ eventIds: ['1', '2', '3'] });
    expect({ ...ours, data: theirs.data }).toEqual(theirs);
    expect(theirs).toMatchObject({ retry_limit: 5, retry_backoff: true });
  });

  it('hold 256 events at most', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => String(1000 + i));
    await stack.t.app.get(JobQueue).enqueueWebhookEvents(ids);
    const sizes = await stack.t.db.query<{ n: number }[]>(
      `SELECT jsonb_array_length(data->'eventIds') AS n FROM pgboss.job
        WHERE name = $1 AND (data->'eventIds'->>0)::bigint >= 1000 ORDER BY 1 DESC`,
      [WEBHOOK_EVENT_QUEUE],
    );
    expect(sizes.map((row) => row.n)).toEqual([256, 256, 88]);
  });
});
