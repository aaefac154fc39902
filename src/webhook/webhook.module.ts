import { Module } from '@nestjs/common';
import { TencentWebhookController } from './tencent-webhook.controller';
import { TencentWebhookService } from './tencent-webhook.service';
import { WebhookEventStore } from './webhook-event.store';

@Module({
  controllers: [TencentWebhookController],
  providers: [TencentWebhookService, WebhookEventStore],
})
export class WebhookModule {}
