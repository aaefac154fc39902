import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../auth/api-clients.service';
import { CurrentCaller, RequireScope } from '../auth/require-scope';
import { ApiErrors } from '../common/error-responses';
import { ApiMeetingIdParam, BAD_MEETING_ID, MeetingIdPipe } from '../lookup/id-rules';
import { TOO_MANY_TRACKED_NUMBERS } from '../lookup/lookup-answers';
import {
  ACTION_ANSWER,
  ACTION_CONFLICTS,
  ACTION_EXAMPLE,
  ACTION_REQUEST_EXAMPLE,
  BAD_ACTION,
} from './control-answers';
import { IdempotencyKey } from './idempotency-key';
import { ACTION_BODY, type ActionBody } from './phone-caller-action.schema';
import { PhoneCallerActionsService } from './phone-caller-actions.service';

@ApiTags('control')
@RequireScope('control')
@Controller('v1/meetings/:meetingId/phone-callers')
export class PhoneCallerActionsController {
  constructor(private readonly actions: PhoneCallerActionsService) {}

  @Post('actions')
  @HttpCode(200)
  @RouteSchema({ body: ACTION_BODY })
  @ApiBody({ schema: ACTION_BODY, examples: { mute: { value: ACTION_REQUEST_EXAMPLE } } })
  @ApiMeetingIdParam()
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'The same key and request within 24 hours answer the first result again without calling Tencent; the same key with another request is a 409',
  })
  @ApiOperation({
    summary: 'Mute, unmute, kick or rename phone callers by number (or ms_open_id)',
    description:
      'Every connected ms_open_id of each number is acted on. A number (or id) with no connected caller yet is waited for up to `wait_ms`; one still absent then is `not_connected`, with no upstream call. A call Tencent refuses is `failed` with its error_code. A 4xx only for a bad request.',
  })
  @ApiOkResponse({
    description: 'What came of each target, in the order asked',
    schema: ACTION_ANSWER,
    example: ACTION_EXAMPLE,
  })
  @ApiErrors({
    400: [BAD_MEETING_ID, ...BAD_ACTION],
    409: [...ACTION_CONFLICTS, TOO_MANY_TRACKED_NUMBERS],
  })
  act(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Body() body: ActionBody,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @CurrentCaller() caller: Caller,
  ) {
    return this.actions.act(caller, meetingId, body, idempotencyKey);
  }
}
