import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ApiClientsService } from '../auth/api-clients.service';
import { bearerToken, hasScope } from '../auth/auth.decorator';
import { hasJsonBody, parseJsonBody, sendText, type FastLane } from '../common/fast-lane';
import { listItems } from './lookup.controller';
import { MappingCache } from './mapping.cache';
import { hasDigits, toPhoneNumber, type PhoneNumberDto } from './phone-number.dto';

const PATH = /^\/v1\/meetings\/(\d{1,32})\/phone\/ms-open-id$/;
const TOP_KEYS = new Set(['operator_id', 'operator_id_type', 'phone_numbers']);

/**
 * The hot path of the drop-in lookup, answered before Fastify and Nest: when the caller is
 * authorised, the body is plainly valid and every number is in the cache, the answer goes out
 * from here. Everything else (a miss, bad input, a bad token, a shutdown under way) is declined
 * and reaches the controller, whose guard, class-validator DTOs and service give the full answer
 * or the error. The checks here accept a subset of what the DTOs accept, never more.
 */
@Injectable()
export class CachedLookupLane implements FastLane, OnModuleDestroy {
  readonly route = '/v1/meetings/:meetingId/phone/ms-open-id';
  private closing = false;

  constructor(
    private readonly clients: ApiClientsService,
    private readonly cache: MappingCache,
  ) {}

  wants(request: IncomingMessage): boolean {
    return (
      !this.closing &&
      request.method === 'POST' &&
      request.headers.authorization !== undefined &&
      hasJsonBody(request) &&
      PATH.test(request.url ?? '')
    );
  }

  async answer(request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<boolean> {
    const meetingId = PATH.exec(request.url ?? '')?.[1];
    const token = bearerToken(request.headers.authorization);
    const numbers = plainlyValid(parseJsonBody(body));
    if (!meetingId || !token || !numbers) return false;
    const caller = this.clients.recentCaller(token) ?? (await this.clients.authenticate(token));
    if (!caller || !hasScope(caller, 'lookup')) return false;
    const cached = await this.cache.getNumbers(meetingId, numbers.map(toPhoneNumber));
    if (cached.some((ids) => ids === undefined)) return false;
    const text = JSON.stringify({
      meeting_id: meetingId,
      ms_open_id_list: listItems(numbers, cached as NonNullable<(typeof cached)[number]>[]),
    });
    sendText(response, 200, 'application/json; charset=utf-8', text);
    return true;
  }

  /** Once shutdown begins, lookups go to Fastify, which answers 503 while requests drain. */
  onModuleDestroy(): void {
    this.closing = true;
  }
}

function plainlyValid(body: unknown): PhoneNumberDto[] | null {
  if (typeof body !== 'object' || body === null) return null;
  const record = body as Record<string, unknown>;
  for (const key in record) if (!TOP_KEYS.has(key)) return null;
  if (record.operator_id !== undefined && typeof record.operator_id !== 'string') return null;
  if (record.operator_id_type !== undefined && !Number.isInteger(record.operator_id_type)) {
    return null;
  }
  const list = record.phone_numbers;
  if (!Array.isArray(list) || list.length < 1 || list.length > 100) return null;
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null) return null;
    const number = item as Record<string, unknown>;
    for (const key in number) if (key !== 'area' && key !== 'phone_number') return null;
    if (!hasDigits(number.area, 1, 4) || !hasDigits(number.phone_number, 4, 20)) return null;
  }
  return list as PhoneNumberDto[];
}
