import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Env } from '../config/env.schema';
import { BatchingRedis } from './batching-redis';

/** How long a connection may wait for any answer to the commands it sent. */
const REDIS_SILENCE_MS = 100;

/**
 * The service's Redis connection. Redis is only a cache and a coordination aid here, so a
 * command never waits long: no offline queue, and a connection that has sent commands and heard
 * nothing back for REDIS_SILENCE_MS is dropped (its commands fail, and it reconnects); callers
 * fall back when a command fails. Every key the service writes goes through `key()`, under
 * REDIS_KEY_PREFIX.
 */
@Injectable()
export class RedisClient extends BatchingRedis implements OnApplicationShutdown {
  private readonly log = new Logger('Redis');
  private readonly prefix: string;
  /** Whether the last change logged was a loss, so each loss and return is logged once. */
  private lost = false;
  private closing = false;

  constructor(env: Env) {
    super(env.REDIS_URL, {
      // One timer per connection rather than ioredis's commandTimeout, which sets and clears a
      // timer for every command (among a cached lookup's largest costs of its own; see the
      // README's Benchmarks). Redis answers in order: a connection still answering is not
      // stuck, and one that is silent fails every command it holds.
      socketTimeout: REDIS_SILENCE_MS,
      connectTimeout: 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.prefix = env.REDIS_KEY_PREFIX;
    // Connection errors are expected while Redis is down; the callers fall back.
    this.on('error', () => this.connectionLost());
    this.on('close', () => this.connectionLost());
    this.on('ready', () => {
      if (!this.lost) return;
      this.lost = false;
      this.log.log('Redis connection is back');
    });
  }

  key(...parts: string[]): string {
    return `${this.prefix}${parts.join(':')}`;
  }

  private connectionLost(): void {
    if (this.lost || this.closing) return;
    this.lost = true;
    this.log.warn('Redis connection lost: the cache is skipped until it is back');
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.quit().catch(() => this.disconnect());
  }
}
