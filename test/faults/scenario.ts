import type { DataSource } from 'typeorm';
import { buildEvent } from '../support/webhook-fixtures';

/** Join events of `callers` distinct phone callers spread over `meetings` meetings. */
export function joinEvents(meetings: number, callers: number, firstMeeting: number): string[] {
  const events: string[] = [];
  for (let m = 0; m < meetings; m++) {
    const meetingId = String(firstMeeting + m);
    for (let c = 0; c < callers; c++) {
      events.push(
        buildEvent('meeting.participant-joined', {
          meetingId,
          msOpenId: `m${m}-c${c}`,
          operateTime: Date.now() - 60_000 + c,
        }),
      );
    }
  }
  return events;
}

/** The trace ids of events built by buildEvent. */
export function traceIds(events: string[]): string[] {
  return events.map((event) => (JSON.parse(event) as { trace_id: string }).trace_id);
}

/** Runs `work` over `items` with at most `concurrency` at once, in order of start. */
export async function inParallel<T>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  });
  await Promise.all(lanes);
}

/** Polls `probe` until it returns `expected` (for hooks, where expect.poll is not allowed). */
export async function waitFor<T>(probe: () => Promise<T>, expected: T, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`waited ${timeoutMs} ms for ${String(expected)}, last saw ${String(last)}`);
}

/** How many stored events are marked processed (as Postgres counts it: a string). */
export async function processedEvents(db: DataSource): Promise<string> {
  const [row] = await db.query<{ n: string }[]>(
    `SELECT count(*) AS n FROM webhook_events WHERE status = 'processed'`,
  );
  return row.n;
}
