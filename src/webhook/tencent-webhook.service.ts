import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import { affectsTracking } from '../tracking/item-kind';
import { decodeWebhookData, UndecodableWebhookError } from './webhook-data-codec';
import { parseTencentEvent, MalformedEventError } from './tencent-event.parser';
import { WebhookEventStore } from './webhook-event.store';
import { parseWebhookSecrets, type WebhookSecret } from './webhook-secrets';
import { findSigningSecret } from './webhook-signature';

export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** A storage failure must turn into a 503 within 2 s, so Tencent retries instead of waiting. */
const STORE_TIMEOUT_MS = 1500;

@Injectable()
export class TencentWebhookService {
  private readonly secrets: WebhookSecret[];

  constructor(
    env: Env,
    private readonly store: WebhookEventStore,
    private readonly metrics: Metrics,
  ) {
    this.secrets = parseWebhookSecrets(env.TENCENT_WEBHOOK_TOKEN, env.TENCENT_WEBHOOK_AES_KEY);
  }

  /** URL check and heartbeat: the decoded `check_str` is the whole answer. */
  checkUrl(headers: WebhookHeaders, checkStr: string | null): string {
    if (!checkStr) throw new ApiError(400, 'bad_request', 'check_str query parameter is required');
    return this.open(headers, checkStr);
  }

  /** Verifies, decodes and durably stores one delivery; resolves only after the commit. */
  async receive(headers: WebhookHeaders, body: unknown): Promise<void> {
    let event = 'unknown';
    try {
      const parsed = this.verifyAndParse(headers, body);
      event = parsed.event.event;
      await this.saveWithin({
        dedupeKey:
          parsed.event.traceId ??
          parsed.event.uniqueSequence ??
          `sha256:${createHash('sha256').update(parsed.data).digest('hex')}`,
        event,
        traceId: parsed.event.traceId,
        meetingId: parsed.event.items[0]?.meeting.meetingId ?? null,
        affectsTracking: affectsTracking(parsed.event),
        plaintext: parsed.plaintext,
      });
      this.metrics.webhooks.inc({ event, outcome: 'stored' });
    } catch (error) {
      const outcome = error instanceof ApiError ? error.code : 'error';
      this.metrics.webhooks.inc({ event, outcome });
      throw error;
    }
  }

  private verifyAndParse(headers: WebhookHeaders, body: unknown) {
    const data = (body as { data?: unknown } | null)?.data;
    if (typeof data !== 'string' || data === '') {
      throw new ApiError(400, 'bad_request', 'body must be a JSON object with a string "data"');
    }
    const plaintext = this.open(headers, data);
    try {
      return { data, plaintext, event: parseTencentEvent(plaintext).event };
    } catch (error) {
      if (error instanceof MalformedEventError)
        throw new ApiError(400, 'malformed_event', error.message);
      throw error;
    }
  }

  private open(headers: WebhookHeaders, data: string): string {
    const timestamp = header(headers, 'timestamp');
    const nonce = header(headers, 'nonce');
    const signature = header(headers, 'signature');
    if (!timestamp || !nonce || !signature) {
      throw new ApiError(400, 'bad_request', 'timestamp, nonce and signature headers are required');
    }
    const secret = findSigningSecret(this.secrets, { timestamp, nonce, signature }, data);
    if (!secret)
      throw new ApiError(401, 'invalid_signature', 'signature does not match any configured token');
    try {
      return decodeWebhookData(data, secret);
    } catch (error) {
      if (error instanceof UndecodableWebhookError)
        throw new ApiError(400, 'undecodable_data', error.message);
      throw error;
    }
  }

  private async saveWithin(event: Parameters<WebhookEventStore['save']>[0]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('storing the event timed out')), STORE_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.store.save(event), timeout]);
    } catch (error) {
      throw new ApiError(503, 'storage_unavailable', 'the event could not be stored; retry later', {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function header(headers: WebhookHeaders, name: string): string | null {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first ? first : null;
}
