import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { Env } from '../config/env.schema';
import { BatchingRedis } from './batching-redis';

/**
 * The Redis connection. Redis is only a cache and a coordination aid here, so a command never
 * waits long: no offline queue, a short command timeout, and callers fall back when it fails.
 */
@Injectable()
export class RedisClient implements OnApplicationShutdown {
  readonly redis: Redis;
  readonly prefix: string;

  constructor(@Inject(Env) env: Env) {
    this.prefix = env.REDIS_KEY_PREFIX;
    this.redis = new BatchingRedis(env.REDIS_URL, {
      commandTimeout: 100,
      connectTimeout: 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      lazyConnect: false,
    });
    // Connection errors are expected while Redis is down; the callers fall back.
    this.redis.on('error', () => undefined);
  }

  private subscriber: Redis | undefined;
  private readonly handlers = new Map<string, ((message: string) => void)[]>();

  /**
   * Calls `handler` for every message published on `channel` by any replica. The subscription
   * is renewed by ioredis after a reconnect; messages sent while Redis was down are lost.
   */
  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = this.redis.duplicate({
        enableOfflineQueue: true,
        commandTimeout: undefined,
      });
      this.subscriber.on('error', () => undefined);
      this.subscriber.on('message', (from: string, message: string) => {
        for (const handle of this.handlers.get(from) ?? []) handle(message);
      });
    }
    const key = this.key(channel);
    this.handlers.set(key, [...(this.handlers.get(key) ?? []), handler]);
    await this.subscriber.subscribe(key).catch(() => undefined);
  }

  /** Publishes to every replica's subscribers; false when Redis is unreachable. */
  async publish(channel: string, message: string): Promise<boolean> {
    return this.redis.publish(this.key(channel), message).then(
      () => true,
      () => false,
    );
  }

  key(...parts: string[]): string {
    return `${this.prefix}${parts.join(':')}`;
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscriber?.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({ providers: [RedisClient], exports: [RedisClient] })
export class RedisModule {}
