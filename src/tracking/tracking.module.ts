import { Module } from '@nestjs/common';
import { ResolutionModule } from '../resolution/resolution.module';
import { MeetingEventApplier } from './meeting-event.applier';
import { WebhookEventProcessor } from './webhook-event.processor';

@Module({
  imports: [ResolutionModule],
  providers: [MeetingEventApplier, WebhookEventProcessor],
  exports: [MeetingEventApplier],
})
export class TrackingModule {}
