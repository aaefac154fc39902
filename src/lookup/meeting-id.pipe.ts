import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiError } from '../common/api-error';

/** Tencent meeting ids are digit strings (beyond 2^53: never numbers). */
@Injectable()
export class MeetingIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^\d{1,32}$/.test(value)) {
      throw new ApiError(400, 'bad_request', 'meetingId must be a string of up to 32 digits');
    }
    return value;
  }
}
