import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import type { NewWebhookEvent } from '../queue/webhook-event.queue';
import { affectsTracking } from './item-kind';
import { MalformedEventError, parseTencentEvent, type TencentEvent } from './tencent-event.parser';
import { decodeWebhookData, UndecodableWebhookError } from './webhook-data-codec';
import { WebhookEventStore } from './webhook-event.store';
import { parseWebhookSecrets, type WebhookSecret } from './webhook-secrets';
import { findSigningSecret } from './webhook-signature';
import { HEADERS_REQUIRED } from './tencent-webhook-docs';

export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** A storage failure must turn into a 503 within 2 s, so Tencent retries instead of waiting. */
const STORE_TIMEOUT_MS = 1500;
/** Tencent's ids are tens of characters; longer ones are not ids to index. */
const MAX_KEY_LENGTH = 128;
/** Event names become a metric label: anything unusual is counted as one. */
const EVENT_LABEL = /^[a-z][a-z0-9._-]{0,63}$/i;

/**
 * Webhook intake: verify the signature over the raw `data`, decode it, and store it durably
 * before answering. A signed delivery is always kept: one that does not decode, or that Postgres
 * cannot hold as jsonb, is stored as text (quarantined) for an operator to replay.
 */
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
    const secret = this.verify(headers, checkStr);
    try {
      return decodeWebhookData(checkStr, secret);
    } catch (error) {
      throw asBadRequest(error);
    }
  }

  /** Verifies, decodes and durably stores one delivery; resolves only after the commit. */
  async receive(headers: WebhookHeaders, body: unknown): Promise<void> {
    let label = 'unknown';
    try {
      const data = (body as { data?: unknown } | null)?.data;
      if (typeof data !== 'string' || data === '') {
        throw new ApiError(400, 'bad_request', 'body must be a JSON object with a string "data"');
      }
      const secret = this.verify(headers, data);
      const decoded = this.decode(data, secret);
      if (decoded instanceof ApiError) {
        await this.within(this.store.quarantine(undecodable(data, decoded)));
        this.metrics.quarantined.inc({ reason: 'undecodable' });
        throw decoded;
      }
      const { plaintext, event } = decoded;
      label = EVENT_LABEL.test(event.event) ? event.event : 'other';
      const row = toRow(data, plaintext, event);
      const unstorable = knownUnstorable(plaintext, event);
      const outcome = unstorable
        ? await this.within(
            this.store
              .quarantine({ ...row, raw: plaintext, reason: unstorable })
              .then(() => 'quarantined' as const),
          )
        : await this.within(this.store.save(row));
      this.metrics.webhooks.inc({ event: label, outcome });
      if (outcome === 'quarantined') this.metrics.quarantined.inc({ reason: 'unstorable' });
    } catch (error) {
      const outcome = error instanceof ApiError ? error.code : 'error';
      this.metrics.webhooks.inc({ event: label, outcome });
      throw error;
    }
  }

  /** The configured secret that signed `data`; 400 without the headers, 401 for no match. */
  private verify(headers: WebhookHeaders, data: string): WebhookSecret {
    const timestamp = header(headers, 'timestamp');
    const nonce = header(headers, 'nonce');
    const signature = header(headers, 'signature');
    if (!timestamp || !nonce || !signature) {
      throw ApiError.of(400, HEADERS_REQUIRED);
    }
    const secret = findSigningSecret(this.secrets, { timestamp, nonce, signature }, data);
    if (!secret)
      throw new ApiError(401, 'invalid_signature', 'signature does not match any configured token');
    return secret;
  }

  /** The plaintext and its event, or the 400 that says why there is none. */
  private decode(
    data: string,
    secret: WebhookSecret,
  ): { plaintext: string; event: TencentEvent } | ApiError {
    try {
      const plaintext = decodeWebhookData(data, secret);
      return { plaintext, event: parseTencentEvent(plaintext).event };
    } catch (error) {
      return asBadRequest(error);
    }
  }

  /** Storage that does not answer in time is a 503: Tencent retries, and dedupe absorbs it. */
  private async within<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('storing the event timed out')), STORE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      throw new ApiError(503, 'storage_unavailable', 'the event could not be stored; retry later', {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function asBadRequest(error: unknown): ApiError {
  if (error instanceof UndecodableWebhookError) {
    return new ApiError(400, 'undecodable_data', error.message);
  }
  if (error instanceof MalformedEventError)
    return new ApiError(400, 'malformed_event', error.message);
  throw error;
}

/**
 * Dedupe key: `trace_id`, else `unique_sequence`, else a hash of `data`. A key too long to
 * index is hashed (a Tencent id is never that long, but a signed event may carry anything).
 */
function dedupeKey(data: string, event: TencentEvent): string {
  const id = event.traceId ?? event.uniqueSequence;
  if (id !== null && id.length <= MAX_KEY_LENGTH) return id;
  return `sha256:${createHash('sha256')
    .update(id ?? data)
    .digest('hex')}`;
}

function toRow(data: string, plaintext: string, event: TencentEvent): NewWebhookEvent {
  return {
    dedupeKey: dedupeKey(data, event),
    event: event.event,
    traceId: event.traceId,
    meetingId: shortKey(event.items[0]?.meeting.meetingId ?? null),
    affectsTracking: affectsTracking(event),
    plaintext,
  };
}

function shortKey(key: string | null): string | null {
  return key !== null && key.length <= MAX_KEY_LENGTH ? key : null;
}

/** A signed delivery that did not decode, kept as it came. */
function undecodable(data: string, why: ApiError) {
  return {
    dedupeKey: `sha256:${createHash('sha256').update(data).digest('hex')}`,
    event: 'unknown',
    traceId: null,
    meetingId: null,
    raw: data,
    reason: `${why.code}: ${why.message}`,
  };
}

/**
 * What Postgres would refuse that can be told before trying (the store finds the rest out):
 * jsonb cannot hold a NUL, and a meeting id is indexed.
 */
/** A JSON `\u0000` escape: the backslash before it is not itself escaped (`"C:\\u0000"` is none). */
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/;

function knownUnstorable(plaintext: string, event: TencentEvent): string | null {
  // includes() first: the regular expression runs only for the rare text that needs it.
  if (plaintext.includes('\\u0000') && NUL_ESCAPE.test(plaintext)) {
    return 'holds a NUL escape (\\u0000), which jsonb cannot store';
  }
  if (event.items.some((item) => (item.meeting.meetingId?.length ?? 0) > MAX_KEY_LENGTH)) {
    return `a meeting_id is longer than ${MAX_KEY_LENGTH} characters`;
  }
  return null;
}

function header(headers: WebhookHeaders, name: string): string | null {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first ? first : null;
}
