import { Module } from '@nestjs/common';
import { MeetingEventApplier } from './meeting-event.applier';
import { WebhookEventProcessor } from './webhook-event.processor';

@Module({
  providers: [MeetingEventApplier, WebhookEventProcessor],
  exports: [MeetingEventApplier],
})
export class TrackingModule {}
