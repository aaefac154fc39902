import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiError } from '../common/api-error';

const BIGINT_MAX = 9_223_372_036_854_775_807n;

/** Webhook event ids are bigserial: a positive integer that fits Postgres's bigint. */
@Injectable()
export class EventIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[1-9]\d{0,18}$/.test(value) || BigInt(value) > BIGINT_MAX) {
      throw new ApiError(400, 'bad_request', 'id must be a positive integer within bigint range');
    }
    return value;
  }
}
