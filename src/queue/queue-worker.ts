import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';

/**
 * A claimed event: its decoded JSON as text (ids beyond 2^53 stay exact that way), or for a
 * replayed quarantined event the text it was kept as.
 */
export interface ClaimedEvent {
  id: string;
  meetingId: string | null;
  payload: string | null;
  raw: string | null;
}

/** The statements of the table the worker works on (WebhookEventQueue's). */
export interface ClaimableTable {
  claim(manager: EntityManager, limit: number, id?: string): Promise<ClaimedEvent[]>;
  markProcessed(manager: EntityManager, ids: string[]): Promise<void>;
  markFailed(id: string, error: string): Promise<void>;
}

/** What the worker runs on the events it claims. */
export interface EventHandler<T> {
  /** Applies the events inside the claiming transaction; what it answers goes to afterCommit. */
  apply(manager: EntityManager, events: ClaimedEvent[]): Promise<T>;
  /** Runs once the transaction that applied the events has committed. */
  afterCommit(result: T): Promise<void>;
  /** Hears of each event whose attempt failed. */
  onFailure(id: string, error: Error): void;
}

/** How long the worker lets events gather after a batch that did not fill up. */
const COALESCE_MS = 10;

/**
 * The claim-apply-settle loop. A batch is claimed, applied and marked processed in one
 * transaction, so an event is applied exactly once even when the process dies mid-batch (the
 * transaction rolls back and the rows unlock). When a batch fails, each of its events runs in a
 * transaction of its own, so one bad event never holds back the others; the one that fails is
 * marked failed and retried later with backoff.
 */
export class QueueWorker<T = unknown> {
  private stopping = false;
  /** Set by notify(): events may have arrived since the last claim. */
  private notified = false;
  /** Ends the current sleep, while there is one. */
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: ClaimableTable,
    private readonly handler: EventHandler<T>,
    private readonly logger: Logger,
    private readonly options: { batchSize: number; pollMs: number },
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Claim now instead of at the next poll. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.notify();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { batchSize, pollMs } = this.options;
    while (!this.stopping) {
      this.notified = false;
      let claimed = 0;
      try {
        claimed = await this.runBatch();
      } catch (error) {
        this.logger.warn(`webhook queue: ${(error as Error).message}`);
      }
      // A full batch means a backlog: claim again at once. Otherwise wait a moment, so that
      // during a burst (a notify per stored batch) one claim takes several events, then sleep
      // until notified or the next poll.
      if (claimed < batchSize && !this.stopping) {
        await delay(COALESCE_MS);
        if (!this.notified && !this.stopping) await this.sleep(pollMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** One batch; answers how many events it claimed. */
  private async runBatch(): Promise<number> {
    const claimed: string[] = [];
    let applied: { result: T } | undefined;
    try {
      applied = await this.applyClaimed(claimed, (manager) =>
        this.queue.claim(manager, this.options.batchSize),
      );
    } catch (error) {
      // Claiming itself failed (Postgres is unreachable, say): nothing is lost, try later.
      if (claimed.length === 0) throw error;
      for (const id of claimed) await this.runOne(id);
      return claimed.length;
    }
    if (applied) await this.handler.afterCommit(applied.result);
    return claimed.length;
  }

  /** One event in a transaction of its own (claimed again: another replica may have it now). */
  private async runOne(id: string): Promise<void> {
    const claimed: string[] = [];
    let applied: { result: T } | undefined;
    try {
      applied = await this.applyClaimed(claimed, (manager) => this.queue.claim(manager, 1, id));
    } catch (error) {
      if (claimed.length === 0) throw error;
      await this.failOne(id, error as Error);
      return;
    }
    if (applied) await this.handler.afterCommit(applied.result);
  }

  /**
   * Claims, applies and marks processed in one transaction; the claimed ids go into `claimed`
   * as soon as they are known, so the caller can tell a failed claim from a failed event.
   */
  private applyClaimed(
    claimed: string[],
    claim: (manager: EntityManager) => Promise<ClaimedEvent[]>,
  ): Promise<{ result: T } | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const events = await claim(manager);
      claimed.push(...events.map((event) => event.id));
      if (events.length === 0) return undefined;
      const result = await this.handler.apply(manager, events);
      await this.queue.markProcessed(manager, claimed);
      return { result };
    });
  }

  private async failOne(id: string, error: Error): Promise<void> {
    this.handler.onFailure(id, error);
    // When Postgres itself is down this fails too; the event stays pending and runs again.
    await this.queue.markFailed(id, error.message).catch((markError: Error) => {
      this.logger.warn(`webhook event ${id} failed and could not be marked: ${markError.message}`);
    });
  }
}
