import { Global, Injectable, Logger, Module } from '@nestjs/common';
import type { TrackingChange } from './tracking-change';

type Listener = (changes: TrackingChange[]) => Promise<void> | void;

/**
 * Committed changes, handed to every listener in this process (the cache, the event stream).
 * A listener's failure is logged and never reaches the publisher: the database is already right.
 */
@Injectable()
export class ChangeFeed {
  private readonly logger = new Logger(ChangeFeed.name);
  private readonly listeners: Listener[] = [];

  listen(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** Resolves once every listener has handled the changes. */
  async publish(changes: TrackingChange[]): Promise<void> {
    if (changes.length === 0) return;
    await Promise.all(
      this.listeners.map(async (listener) => {
        try {
          await listener(changes);
        } catch (error) {
          this.logger.warn(`change listener failed: ${(error as Error).message}`);
        }
      }),
    );
  }
}

@Global()
@Module({ providers: [ChangeFeed], exports: [ChangeFeed] })
export class ChangeFeedModule {}
