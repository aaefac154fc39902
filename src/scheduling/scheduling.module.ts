import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ReconciliationModule } from '../reconciliation/reconciliation.module';
import { ResolutionModule } from '../resolution/resolution.module';
import { TrackingModule } from '../tracking/tracking.module';
import { AdvisoryLock } from './advisory-lock';
import { CalloutMapper } from './callout-mapper';
import { JobScheduler } from './job-scheduler';
import { ReconcileJob } from './reconcile.job';
import { RetentionJob } from './retention.job';
import { RosterJob } from './roster.job';
import { StaleMeetingsJob } from './stale-meetings.job';

/** Reconciliation, roster repairs, stale meetings and retention, one replica per tick. */
@Module({
  imports: [ScheduleModule.forRoot(), ReconciliationModule, ResolutionModule, TrackingModule],
  providers: [
    AdvisoryLock,
    CalloutMapper,
    JobScheduler,
    ReconcileJob,
    RetentionJob,
    RosterJob,
    StaleMeetingsJob,
  ],
})
export class SchedulingModule {}
