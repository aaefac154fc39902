import { Global, Module } from '@nestjs/common';
import { CalloutListClient } from './callout-list.client';
import { MeetingControlClient } from './meeting-control.client';
import { MsOpenIdClient } from './ms-open-id.client';
import { RealTimeParticipantsClient } from './real-time-participants.client';
import { TencentApi } from './tencent-api.client';
import { UpstreamRateLimiter } from './upstream-rate-limiter';

/** Everything that speaks to Tencent's REST API, through one signed, budgeted client. */
@Global()
@Module({
  providers: [
    TencentApi,
    UpstreamRateLimiter,
    MsOpenIdClient,
    CalloutListClient,
    MeetingControlClient,
    RealTimeParticipantsClient,
  ],
  exports: [
    TencentApi,
    UpstreamRateLimiter,
    MsOpenIdClient,
    CalloutListClient,
    MeetingControlClient,
    RealTimeParticipantsClient,
  ],
})
export class TencentModule {}
