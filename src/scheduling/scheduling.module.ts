import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ResolutionModule } from '../resolution/resolution.module';
import { TrackingModule } from '../tracking/tracking.module';
import { AdvisoryLock } from './advisory-lock';
import { CalloutMapper } from './callout-mapper';
import { JobScheduler } from './job-scheduler';
import { ReconcileJob } from './reconcile.job';
import { RetentionJob } from './retention.job';
import { StaleMeetingsJob } from './stale-meetings.job';

/** Reconciliation, stale meetings and retention, one replica per tick. */
@Module({
  imports: [ScheduleModule.forRoot(), ResolutionModule, TrackingModule],
  providers: [
    AdvisoryLock,
    CalloutMapper,
    JobScheduler,
    ReconcileJob,
    RetentionJob,
    StaleMeetingsJob,
  ],
})
export class SchedulingModule {}
