import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiClientsService } from '../auth/api-clients.service';
import { bearerToken, hasScope } from '../auth/auth.decorator';
import { listItems } from './lookup.controller';
import { MappingCache } from './mapping.cache';
import { toPhoneNumber, type PhoneNumberDto } from './phone-number.dto';

const ROUTE = '/v1/meetings/:meetingId/phone/ms-open-id';
const AREA = /^\d{1,4}$/;
const NUMBER = /^\d{4,20}$/;
const ALLOWED_KEYS = new Set(['operator_id', 'operator_id_type', 'phone_numbers']);

/**
 * The hot path of the drop-in lookup: when the caller is authorised, the body is plainly valid
 * and every number is in the cache, the answer goes out from this Fastify hook, before Nest's
 * per-request pipeline. Everything else (a miss, bad input, a bad token) falls through to the
 * controller, whose guard, class-validator DTOs and service give the full answer or the error.
 * The checks here accept a subset of what the DTOs accept, never more.
 */
export function registerCachedLookup(app: NestFastifyApplication): void {
  const clients = app.get(ApiClientsService);
  const cache = app.get(MappingCache);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.routeOptions.url !== ROUTE) return;
      const numbers = plainlyValid(request.body);
      const { meetingId } = request.params as { meetingId: string };
      const token = bearerToken(request.headers.authorization);
      if (!numbers || !/^\d{1,32}$/.test(meetingId) || !token) return;
      const caller = clients.recentCaller(token) ?? (await clients.authenticate(token));
      if (!caller || !hasScope(caller, 'lookup')) return;
      const cached = await cache.getNumbers(meetingId, numbers.map(toPhoneNumber));
      if (cached.some((ids) => ids === undefined)) return;
      return reply.send({
        meeting_id: meetingId,
        ms_open_id_list: listItems(numbers, cached as NonNullable<(typeof cached)[number]>[]),
      });
    });
}

function plainlyValid(body: unknown): PhoneNumberDto[] | null {
  if (typeof body !== 'object' || body === null) return null;
  const record = body as Record<string, unknown>;
  if (Object.keys(record).some((key) => !ALLOWED_KEYS.has(key))) return null;
  if (record.operator_id !== undefined && typeof record.operator_id !== 'string') return null;
  if (record.operator_id_type !== undefined && !Number.isInteger(record.operator_id_type)) {
    return null;
  }
  const list = record.phone_numbers;
  if (!Array.isArray(list) || list.length < 1 || list.length > 100) return null;
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null) return null;
    const { area, phone_number, ...rest } = item as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || !digits(area, AREA) || !digits(phone_number, NUMBER)) {
      return null;
    }
  }
  return list as PhoneNumberDto[];
}

function digits(value: unknown, pattern: RegExp): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value) && pattern.test(String(value));
  return typeof value === 'string' && pattern.test(value);
}
