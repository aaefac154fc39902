import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ResolutionModule } from '../resolution/resolution.module';
import { TrackingModule } from '../tracking/tracking.module';
import { AdvisoryLock } from './advisory-lock';
import { CalloutListClient } from './callout-list.client';
import { CalloutMapper } from './callout-mapper';
import { JobScheduler } from './job-scheduler';
import { ReconcileJob } from './reconcile.job';
import { RetentionJob } from './retention.job';
import { StaleMeetingsJob } from './stale-meetings.job';
import { WebhookSweepJob } from './webhook-sweep.job';

/** Reconciliation, stale meetings, retention and the webhook sweep, one replica per tick. */
@Module({
  imports: [ScheduleModule.forRoot(), ResolutionModule, TrackingModule],
  providers: [
    AdvisoryLock,
    CalloutListClient,
    CalloutMapper,
    JobScheduler,
    ReconcileJob,
    RetentionJob,
    StaleMeetingsJob,
    WebhookSweepJob,
  ],
})
export class SchedulingModule {}
