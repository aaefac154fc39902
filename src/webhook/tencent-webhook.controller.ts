import { Body, Controller, Get, Header, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiHeaders,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrors } from '../common/error-responses';
import {
  CHECK_ERRORS,
  CHECK_STR_SCHEMA,
  DELIVERY_BODY,
  DELIVERY_ERRORS,
  SIGNATURE_HEADERS,
} from './tencent-webhook-docs';
import { TencentWebhookService } from './tencent-webhook.service';

export const WEBHOOK_ACK = 'successfully received callback';

/** Tencent's callback: Tencent calls it, signed, rather than an API client. */
@ApiTags('webhook')
@ApiHeaders(SIGNATURE_HEADERS)
@Controller('webhooks/tencent-meeting')
export class TencentWebhookController {
  constructor(private readonly webhooks: TencentWebhookService) {}

  /** URL check and heartbeat: answers the decoded check_str as plain text. */
  @Get()
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary: "Tencent's URL check and heartbeat: echoes the decoded check_str",
    description:
      'Tencent calls it when the callback URL is configured, and then now and again. The answer is the plaintext of `check_str` itself, as plain text.',
  })
  @ApiQuery({ name: 'check_str', required: true, schema: CHECK_STR_SCHEMA })
  @ApiOkResponse({
    description: 'The decoded check_str',
    content: { 'text/plain; charset=utf-8': { schema: { type: 'string' }, example: '123456' } },
  })
  @ApiErrors(CHECK_ERRORS)
  check(@Req() request: FastifyRequest): string {
    return this.webhooks.checkUrl(request.headers, readCheckStr(request.url));
  }

  /** Event delivery: 200 only after the event is committed. */
  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary: 'A Tencent Meeting event, signed (and AES-encrypted, per token)',
    description:
      'Answered only once the event is committed to Postgres (a redelivery, deduplicated by trace_id, unique_sequence or a hash of `data`, is answered the same). An event Postgres cannot hold as jsonb is kept as text (quarantined) and answered 200 too.',
  })
  @ApiBody({
    schema: DELIVERY_BODY,
    examples: { event: { value: { data: 'eyJldmVudCI6Im1lZXRpbmcuc3RhcnRlZCJ9' } } },
  })
  @ApiOkResponse({
    description: 'Stored (or already stored): Tencent stops delivering it',
    content: { 'text/plain; charset=utf-8': { schema: { type: 'string' }, example: WEBHOOK_ACK } },
  })
  @ApiErrors(DELIVERY_ERRORS)
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
