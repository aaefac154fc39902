import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { toErrorResponse } from '../common/all-exceptions.filter';
import { hasJsonBody, parseJsonBody, sendText, type FastLane } from '../common/fast-lane';
import { TencentWebhookService } from './tencent-webhook.service';
import { WEBHOOK_ACK } from './tencent-webhook.controller';

const PATH = '/webhooks/tencent-meeting';

/**
 * Event deliveries, answered before Fastify and Nest: the work is the service's (verify, decode,
 * store, then 200), and the request around it costs more in Fastify and Nest than the lane's few
 * lines. The answer, an error included, is the one the controller and the exception filter give.
 * A body that is not plainly JSON, a path with a query and a shutdown under way are declined.
 */
@Injectable()
export class WebhookIntakeLane implements FastLane, OnModuleDestroy {
  readonly route = PATH;
  private closing = false;

  constructor(private readonly webhooks: TencentWebhookService) {}

  wants(request: IncomingMessage): boolean {
    return (
      !this.closing && request.method === 'POST' && request.url === PATH && hasJsonBody(request)
    );
  }

  async answer(
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
    logError: (message: string) => void,
  ): Promise<boolean> {
    const delivery = parseJsonBody(body);
    if (delivery === undefined) return false;
    try {
      await this.webhooks.receive(request.headers, delivery);
      sendText(response, 200, 'text/plain; charset=utf-8', WEBHOOK_ACK);
    } catch (error) {
      const answer = toErrorResponse(error, logError);
      sendText(
        response,
        answer.status,
        'application/json; charset=utf-8',
        JSON.stringify(answer.body),
      );
    }
    return true;
  }

  /** Once shutdown begins, deliveries go to Fastify, which answers 503 while requests drain. */
  onModuleDestroy(): void {
    this.closing = true;
  }
}
