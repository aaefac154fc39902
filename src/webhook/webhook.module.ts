import { Module } from '@nestjs/common';
import { TencentWebhookController } from './tencent-webhook.controller';
import { TencentWebhookService } from './tencent-webhook.service';
import { WebhookEventStore } from './webhook-event.store';
import { WebhookIntakeLane } from './webhook-intake.lane';

@Module({
  controllers: [TencentWebhookController],
  providers: [TencentWebhookService, WebhookEventStore, WebhookIntakeLane],
})
export class WebhookModule {}
