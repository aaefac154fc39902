import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import type { JsonSchema } from '../common/schema-validation';

const BIGINT_MAX = 9_223_372_036_854_775_807n;
const EVENT_ID = /^[1-9]\d{0,18}$/;

/** The OpenAPI parameter of an event id; the pipe also refuses one beyond bigint. */
export const EVENT_ID_SCHEMA: JsonSchema = {
  type: 'string',
  pattern: EVENT_ID.source,
  description: 'A positive integer within bigint range',
  example: '42',
};

/** Webhook event ids are bigserial: a positive integer that fits Postgres's bigint. */
@Injectable()
export class EventIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!EVENT_ID.test(value) || BigInt(value) > BIGINT_MAX) {
      throw new ApiError(400, 'bad_request', 'id must be a positive integer within bigint range');
    }
    return value;
  }
}
