import { Module } from '@nestjs/common';
import { TrackingModule } from '../tracking/tracking.module';
import { RosterReconciler } from './roster-reconciler';
import { ServiceHeartbeat } from './service-heartbeat';

/** Repairs from Tencent's live roster, and the heartbeat that tells how long the service was down. */
@Module({
  imports: [TrackingModule],
  providers: [RosterReconciler, ServiceHeartbeat],
  exports: [RosterReconciler],
})
export class ReconciliationModule {}
