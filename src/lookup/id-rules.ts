import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { ApiError } from '../common/api-error';
import type { ErrorCase } from '../common/error-responses';
import type { JsonSchema } from '../common/schema-validation';

/**
 * The rules of the ids in our paths, each written once and used by whichever layer serves a
 * route: as a pipe on Nest routes, as a JSON schema on the routes Fastify validates, and as the
 * parameter and the 400 the OpenAPI document shows.
 */

/** Tencent meeting ids are digit strings (beyond 2^53: never numbers). */
const MEETING_ID = /^\d{1,32}$/;
const MEETING_ID_RULE = 'must be a string of up to 32 digits';

/**
 * Tencent's ms_open_id is opaque (base64-like today): printable ASCII without spaces, bounded,
 * so no control character or NUL ever reaches a query.
 */
const MS_OPEN_ID = /^[\x21-\x7e]{1,128}$/;
const MS_OPEN_ID_RULE = 'must be 1 to 128 printable characters';

export const MEETING_ID_SCHEMA: JsonSchema = {
  type: 'string',
  pattern: MEETING_ID.source,
  'x-error-message': MEETING_ID_RULE,
  example: '13339451618278424869',
};

export const MS_OPEN_ID_SCHEMA: JsonSchema = {
  type: 'string',
  pattern: MS_OPEN_ID.source,
  'x-error-message': MS_OPEN_ID_RULE,
  example: 'WMfgHRYj6m36mcDGtK',
};

export const MEETING_ID_PARAMS_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['meetingId'],
  properties: { meetingId: MEETING_ID_SCHEMA },
};

/** A path parameter that must match its rule; a 400 naming the rule otherwise. */
class PatternPipe implements PipeTransform<string, string> {
  constructor(
    private readonly pattern: RegExp,
    private readonly message: string,
  ) {}

  transform(value: string): string {
    if (!this.pattern.test(value)) throw new ApiError(400, 'bad_request', this.message);
    return value;
  }
}

@Injectable()
export class MeetingIdPipe extends PatternPipe {
  constructor() {
    super(MEETING_ID, `meetingId ${MEETING_ID_RULE}`);
  }
}

@Injectable()
export class MsOpenIdPipe extends PatternPipe {
  constructor() {
    super(MS_OPEN_ID, `msOpenId ${MS_OPEN_ID_RULE}`);
  }
}

/** The OpenAPI side of a path's meetingId: its rule, and its 400. */
export const ApiMeetingIdParam = () => ApiParam({ name: 'meetingId', schema: MEETING_ID_SCHEMA });
export const BAD_MEETING_ID: ErrorCase = {
  code: 'bad_request',
  message: `meetingId ${MEETING_ID_RULE}`,
};

/** The OpenAPI side of a path's msOpenId: its rule, and its 400. */
export const ApiMsOpenIdParam = () => ApiParam({ name: 'msOpenId', schema: MS_OPEN_ID_SCHEMA });
export const BAD_MS_OPEN_ID: ErrorCase = {
  code: 'bad_request',
  message: `msOpenId ${MS_OPEN_ID_RULE}`,
};
