import { Global, Module } from '@nestjs/common';
import { RedisChannels } from './redis-channels';
import { RedisClient } from './redis.client';

@Global()
@Module({ providers: [RedisClient, RedisChannels], exports: [RedisClient, RedisChannels] })
export class RedisModule {}
