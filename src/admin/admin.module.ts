import { Module } from '@nestjs/common';
import { LookupModule } from '../lookup/lookup.module';
import { ReconciliationModule } from '../reconciliation/reconciliation.module';
import { ResolutionModule } from '../resolution/resolution.module';
import { CacheAdminController } from './cache-admin.controller';
import { JobsAdminController } from './jobs-admin.controller';
import { JobsAdminService } from './jobs-admin.service';
import { MeetingsAdminController } from './meetings-admin.controller';
import { MeetingsAdminService } from './meetings-admin.service';
import { RosterAdminService } from './roster-admin.service';
import { StatsController } from './stats.controller';
import { StatsService } from './stats.service';
import { WebhookEventsAdminController } from './webhook-events-admin.controller';
import { WebhookEventsAdminService } from './webhook-events-admin.service';

/** The operators' routes under /admin (API clients live with the auth module). */
@Module({
  imports: [LookupModule, ReconciliationModule, ResolutionModule],
  controllers: [
    MeetingsAdminController,
    WebhookEventsAdminController,
    JobsAdminController,
    CacheAdminController,
    StatsController,
  ],
  providers: [
    MeetingsAdminService,
    RosterAdminService,
    WebhookEventsAdminService,
    JobsAdminService,
    StatsService,
  ],
})
export class AdminModule {}
