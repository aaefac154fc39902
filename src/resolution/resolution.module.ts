import { Module } from '@nestjs/common';
import { MsOpenIdClient } from '../tencent/ms-open-id.client';
import { UpstreamRateLimiter } from '../tencent/upstream-rate-limiter';
import { MeetingResolver } from './meeting-resolver';
import { ResolutionStore } from './resolution.store';

@Module({
  providers: [MeetingResolver, ResolutionStore, MsOpenIdClient, UpstreamRateLimiter],
  exports: [MeetingResolver, ResolutionStore, UpstreamRateLimiter],
})
export class ResolutionModule {}
