import { Module } from '@nestjs/common';
import { TencentWebhookController } from './tencent-webhook.controller';
import { TencentWebhookService } from './tencent-webhook.service';
import { WebhookEventProcessor } from './webhook-event.processor';
import { WebhookEventStore } from './webhook-event.store';

@Module({
  controllers: [TencentWebhookController],
  providers: [TencentWebhookService, WebhookEventStore, WebhookEventProcessor],
})
export class WebhookModule {}
