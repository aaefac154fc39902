import { Injectable } from '@nestjs/common';
import { GroupCommit } from '../common/group-commit';
import { storableText } from './storable-text';
import {
  WebhookEventQueue,
  type NewWebhookEvent,
  type QuarantinedWebhookEvent,
} from '../queue/webhook-event.queue';

/** How a delivery was kept. */
export type Stored = 'stored' | 'quarantined';

/** Up to this many deliveries share one statement. */
const MAX_BATCH = 256;
/**
 * One statement in flight; deliveries arriving meanwhile wait and go together in the next one.
 * Measured against 2 to 4 in flight: fewer, larger statements serve more deliveries per second.
 */
const MAX_IN_FLIGHT = 1;

/**
 * SQLSTATE classes that blame the row rather than the database: 22 (data exception: a lone
 * surrogate escape, a number beyond numeric's range, a NUL escape) and 54 (program limit
 * exceeded: nesting too deep for the jsonb parser, an index entry over btree's size).
 */
function blamesTheRow(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}

/**
 * Stores verified deliveries, group-committed: concurrent deliveries share one statement and
 * one commit, and each is answered only after the statement that carried it. A statement that
 * Postgres refuses because of one delivery's data never fails the others: each is then stored
 * alone, and one that Postgres still refuses as jsonb is kept as text, quarantined.
 */
@Injectable()
export class WebhookEventStore {
  private readonly writer = new GroupCommit<NewWebhookEvent, Stored | { error: unknown }>(
    (events) => this.storeBatch(events),
    MAX_BATCH,
    MAX_IN_FLIGHT,
  );

  constructor(private readonly queue: WebhookEventQueue) {}

  /** Settles once the event is committed (or was already stored). */
  async save(event: NewWebhookEvent): Promise<Stored> {
    const outcome = await this.writer.submit(event);
    if (typeof outcome === 'object') throw outcome.error;
    return outcome;
  }

  /** Keeps a signed event that cannot be stored as jsonb at all, as text. */
  async quarantine(event: QuarantinedWebhookEvent): Promise<void> {
    await this.queue.insertQuarantined({ ...event, raw: storableText(event.raw) });
  }

  private async storeBatch(events: NewWebhookEvent[]): Promise<(Stored | { error: unknown })[]> {
    // A redelivery within the batch is one row: the statement may not insert a key twice.
    const unique = [...new Map(events.map((event) => [event.dedupeKey, event])).values()];
    try {
      await this.queue.insert(unique);
      return events.map(() => 'stored');
    } catch (error) {
      if (!blamesTheRow(error)) throw error;
    }
    const outcomes = new Map<string, Stored | { error: unknown }>();
    for (const event of unique) outcomes.set(event.dedupeKey, await this.storeAlone(event));
    return events.map((event) => outcomes.get(event.dedupeKey) ?? 'stored');
  }

  private async storeAlone(event: NewWebhookEvent): Promise<Stored | { error: unknown }> {
    try {
      await this.queue.insert([event]);
      return 'stored';
    } catch (error) {
      if (!blamesTheRow(error)) return { error };
      try {
        await this.quarantine({ ...event, raw: event.plaintext, reason: describe(error) });
        return 'quarantined';
      } catch (quarantineError) {
        return { error: quarantineError };
      }
    }
  }
}

/** Postgres's message and code, e.g. "value overflows numeric format (22003)". */
function describe(error: unknown): string {
  const { message, code } = error as { message?: string; code?: string };
  return `${message ?? 'refused'} (${code ?? 'unknown'})`;
}
