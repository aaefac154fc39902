import { Body, Controller, Get, Header, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { TencentWebhookService } from './tencent-webhook.service';

export const WEBHOOK_ACK = 'successfully received callback';

/** Tencent's callback, not an API of ours: documented in the README, not in OpenAPI. */
@ApiExcludeController()
@Controller('webhooks/tencent-meeting')
export class TencentWebhookController {
  constructor(private readonly webhooks: TencentWebhookService) {}

  /** URL check and heartbeat: answers the decoded check_str as plain text. */
  @Get()
  @Header('Content-Type', 'text/plain; charset=utf-8')
  check(@Req() request: FastifyRequest): string {
    return this.webhooks.checkUrl(request.headers, readCheckStr(request.url));
  }

  /** Event delivery: 200 only after the event is committed. */
  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  async receive(@Req() request: FastifyRequest, @Body() body: unknown): Promise<string> {
    await this.webhooks.receive(request.headers, body);
    return WEBHOOK_ACK;
  }
}

/**
 * Reads check_str from the raw URL with one percent-decoding and no form decoding, so a
 * literal "+" of base64 stays a "+" instead of becoming a space.
 */
export function readCheckStr(url: string): string | null {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq >= 0 && pair.slice(0, eq) === 'check_str') {
      try {
        return decodeURIComponent(pair.slice(eq + 1));
      } catch {
        return null;
      }
    }
  }
  return null;
}
