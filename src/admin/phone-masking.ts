import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthenticatedRequest } from '../auth/require-scope';
import type { ErrorCase } from '../common/error-responses';
import { logFor } from '../common/request-logger';
import { appendRouteHook } from '../common/route-hooks';
import { parseInternationalNumber } from '../tencent/phone-number';

/** `?reveal=true` shows phone numbers in full; every admin query DTO that shows numbers has it. */
export class RevealDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description:
      'Show phone numbers in full; each reveal that answers is logged with the client name',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  reveal?: 'true' | 'false';
}

/** The 400 of a bad `reveal` (or of a property a view's query does not take). */
export const BAD_REVEAL: ErrorCase = {
  code: 'bad_request',
  message: 'reveal must be one of the following values: true, false',
  when: 'the query breaks its rule, or names a property the route does not take',
};

/** Keeps the first three and last four digits of a long number, fewer of a short one. */
export function maskDigits(digits: string): string {
  const [head, tail] = digits.length >= 10 ? [3, 4] : digits.length >= 7 ? [2, 3] : [0, 2];
  if (digits.length <= head + tail) return '*'.repeat(digits.length);
  return digits.slice(0, head) + '*'.repeat(digits.length - head - tail) + digits.slice(-tail);
}

/** A number as every view writes it: `+86 138****8888`. */
export function maskNumber(area: string | null, phoneNumber: string): string {
  return `${area ? `+${area} ` : ''}${maskDigits(phoneNumber)}`;
}

/**
 * A run of digits long enough to be a phone number: 7 or more, which people write with spaces,
 * dashes or parentheses between groups, with an optional `+` or `00` international prefix.
 * Numbers hide in any field (user_name, callee_number, free text), so masking goes by value,
 * not by a list of key names. It masks a date in free text too: privacy first.
 */
const NUMBER_RUN = /(\+|\b00)?\d(?:[\s()-]?\d){6,}/g;

/** Every number in a text masked; an international one written as `+86 138****8888`. */
export function maskText(text: string): string {
  return text.replace(NUMBER_RUN, (run, prefix: string | undefined) => {
    const international = prefix ? parseInternationalNumber(run) : null;
    if (international) return maskNumber(international.area, international.phoneNumber);
    return `${prefix ?? ''}${maskDigits(run.slice(prefix?.length ?? 0).replace(/\D/g, ''))}`;
  });
}

/**
 * Keys whose values are ids or times the service knows are not phone numbers (a meeting id is
 * 20 digits, operate_time 13): left as they are. Every other value is masked by value.
 */
const SAFE_KEYS = new Set([
  'meeting_id',
  'meeting_code',
  'trace_id',
  'unique_sequence',
  'ms_open_id',
  'uuid',
  'open_id',
  'userid',
  'creator_id',
  'operate_time',
  'start_time',
  'end_time',
  'join_time',
  'instance_id',
  'id',
  'webhook_event_id',
  'received_at',
  'processed_at',
  'run_after',
  'created_at',
]);

/**
 * A payload nested deeper than this is shown as its JSON text: serialising a structure that
 * deep (Postgres accepts thousands of levels) would overflow the stack.
 */
const MAX_DEPTH = 64;

/** Whether `value` nests arrays and objects deeper than `limit`, found without recursion. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A decoded webhook (or any view) with every phone number in it masked, at any depth. */
export function maskPayload(value: unknown, key = ''): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (SAFE_KEYS.has(key) && (typeof value === 'string' || typeof value === 'number')) return value;
  if (typeof value === 'string') return maskText(value);
  if (typeof value === 'number') {
    const text = String(value);
    return /^\d{7,}$/.test(text) ? maskText(text) : value;
  }
  if (typeof value !== 'object' || value === undefined) return value;
  if (Array.isArray(value)) return value.map((item) => maskPayload(item, key));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPayload(v, k)]));
}

type RevealingRequest = AuthenticatedRequest & { revealed?: boolean };

/** How an admin view writes phone numbers: masked, or in full when revealed. */
export class NumberView {
  constructor(readonly revealed: boolean) {}

  number(area: string | null, phoneNumber: string | null): string | null {
    if (phoneNumber === null) return null;
    return this.revealed
      ? `${area ? `+${area} ` : ''}${phoneNumber}`
      : maskNumber(area, phoneNumber);
  }

  /** A value Tencent sent (a pstn_number, a raw text), masked by value. */
  value(value: string | null): string | null {
    return value === null || this.revealed ? value : maskText(value);
  }

  /**
   * A stored JSON text as a view shows it: the structure, masked by value; or, nested deeper
   * than a view can serialise, the text itself, masked by value.
   */
  json(text: string | null): unknown {
    if (text === null) return null;
    const parsed = JSON.parse(text) as unknown;
    if (nestsDeeperThan(parsed, MAX_DEPTH)) return this.value(text);
    return this.revealed ? parsed : maskPayload(parsed);
  }
}

/** The view of routes that never reveal. */
export const MASKED = new NumberView(false);

/** The request's NumberView: masked, unless `?reveal=true`; a reveal is audited once it answered. */
export const Numbers = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = context.switchToHttp().getRequest<RevealingRequest>();
  const revealed = (request.query as Record<string, unknown>).reveal === 'true';
  request.revealed = revealed;
  return new NumberView(revealed);
});

/**
 * Audits reveals that answered (a reveal refused or failed showed nothing), at warn, so that
 * LOG_LEVEL=warn keeps them: the client's name and the route, never the numbers. Attached to
 * the admin routes only, as they are registered, so no other route pays for the hook.
 */
export function registerRevealAudit(fastify: FastifyInstance): void {
  const audit = (request: FastifyRequest, reply: { statusCode: number }, done: () => void) => {
    const { revealed, caller } = request as RevealingRequest;
    if (revealed && reply.statusCode < 400) {
      const client = caller?.name ?? 'unknown';
      logFor(request).warn(
        { context: 'Reveal', client },
        `phone numbers revealed to "${client}" on ${request.method} ${request.routeOptions.url ?? ''}`,
      );
    }
    done();
  };
  fastify.addHook('onRoute', (route) => {
    if (route.url.startsWith('/admin/')) appendRouteHook(route, 'onResponse', audit);
  });
}
