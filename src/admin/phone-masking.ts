import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../auth/api-clients.service';
import { logFor } from '../common/request-logger';

/** `?reveal=true` shows phone numbers in full; every admin query DTO that shows numbers has it. */
export class RevealDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: 'Show phone numbers in full; each reveal is logged with the client name',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  reveal?: 'true' | 'false';
}

/** Keeps the first three and last four digits of a long number, fewer of a short one. */
export function maskDigits(digits: string): string {
  const [head, tail] = digits.length >= 10 ? [3, 4] : digits.length >= 7 ? [2, 3] : [0, 2];
  if (digits.length <= head + tail) return '*'.repeat(digits.length);
  return digits.slice(0, head) + '*'.repeat(digits.length - head - tail) + digits.slice(-tail);
}

/** Keys of a Tencent payload whose values are phone numbers. */
const NUMBER_KEYS = new Set(['phone', 'phone_number', 'pstn_number', 'callee', 'caller']);

/** A decoded webhook with every phone number in it masked, at any depth. */
export function maskPayload(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => maskPayload(item, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPayload(v, k)]));
  }
  if (NUMBER_KEYS.has(key) && (typeof value === 'string' || typeof value === 'number')) {
    return maskDigits(String(value));
  }
  return value;
}

/** How an admin view writes phone numbers: `+86 138****8888`, or in full when revealed. */
export class NumberView {
  constructor(readonly revealed: boolean) {}

  number(area: string | null, phoneNumber: string | null): string | null {
    if (phoneNumber === null) return null;
    return `${area ? `+${area} ` : ''}${this.revealed ? phoneNumber : maskDigits(phoneNumber)}`;
  }

  payload(payload: unknown): unknown {
    return this.revealed ? payload : maskPayload(payload);
  }
}

/**
 * The request's NumberView: masked, unless `?reveal=true`, which is logged with the client's
 * name and the route (never the numbers).
 */
export const Numbers = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = context.switchToHttp().getRequest<FastifyRequest & { caller?: Caller }>();
  if ((request.query as Record<string, unknown>).reveal !== 'true') return new NumberView(false);
  logFor(request).info(
    { context: 'Reveal' },
    `phone numbers revealed to "${request.caller?.name ?? 'unknown'}" on ${request.method} ${request.routeOptions.url ?? ''}`,
  );
  return new NumberView(true);
});
