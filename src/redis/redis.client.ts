import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Env } from '../config/env.schema';
import { BatchingRedis } from './batching-redis';

/**
 * The service's Redis connection. Redis is only a cache and a coordination aid here, so a
 * command never waits long: no offline queue, a short command timeout, and callers fall back
 * when it fails. Every key the service writes goes through `key()`, under REDIS_KEY_PREFIX.
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
      commandTimeout: 100,
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
