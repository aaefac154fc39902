import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../auth/api-clients.service';
import { CurrentCaller, RequireScope } from '../auth/require-scope';
import { MeetingIdPipe } from '../lookup/id-rules';
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
  @ApiBody({ schema: ACTION_BODY })
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
    schema: {
      example: {
        meeting_id: '13339451618278424869',
        action: 'mute',
        results: [
          {
            area: 86,
            phone_number: '13888888888',
            ms_open_id: 'WMfgHRYj6m36mcDGtK',
            outcome: 'done',
          },
          { area: 86, phone_number: '13900000000', outcome: 'not_connected' },
        ],
      },
    },
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
