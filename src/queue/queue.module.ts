import { Global, Module } from '@nestjs/common';
import { WebhookEventQueue } from './webhook-event.queue';

@Global()
@Module({ providers: [WebhookEventQueue], exports: [WebhookEventQueue] })
export class QueueModule {}
