import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiError } from '../common/api-error';

/** Webhook event ids are bigserial: digit strings. */
@Injectable()
export class EventIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[1-9]\d{0,18}$/.test(value)) {
      throw new ApiError(400, 'bad_request', 'id must be a positive integer');
    }
    return value;
  }
}
