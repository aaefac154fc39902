import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisClient } from './redis.client';

/**
 * Publish and subscribe across replicas. Subscriptions live on a connection of their own (a
 * subscribed Redis connection takes no other commands) and are renewed by ioredis after a
 * reconnect; messages published while Redis was down are lost.
 */
@Injectable()
export class RedisChannels implements OnApplicationShutdown {
  private subscriber: Redis | undefined;
  private readonly handlers = new Map<string, ((message: string) => void)[]>();

  constructor(private readonly redis: RedisClient) {}

  /** Calls `handler` for every message published on `channel` by any replica. */
  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = this.redis.duplicate({
        enableOfflineQueue: true,
        socketTimeout: undefined,
      });
      this.subscriber.on('error', () => undefined);
      this.subscriber.on('message', (from: string, message: string) => {
        for (const handle of this.handlers.get(from) ?? []) handle(message);
      });
    }
    const key = this.redis.key(channel);
    this.handlers.set(key, [...(this.handlers.get(key) ?? []), handler]);
    await this.subscriber.subscribe(key).catch(() => undefined);
  }

  /** Publishes to every replica's subscribers; false when Redis is unreachable. */
  async publish(channel: string, message: string): Promise<boolean> {
    return this.redis.publish(this.redis.key(channel), message).then(
      () => true,
      () => false,
    );
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }
}
