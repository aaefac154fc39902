import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../auth/api-clients.service';
import { CurrentCaller, RequireScope } from '../auth/require-scope';
import { ApiErrors } from '../common/error-responses';
import { ApiMeetingIdParam, BAD_MEETING_ID, MeetingIdPipe } from './id-rules';
import { PSTN_EVENTS_EXAMPLE, TOO_MANY_STREAMS } from './lookup-answers';
import { SseStreams } from './sse-streams';

@ApiTags('lookup')
@RequireScope('lookup')
@Controller('v1/meetings/:meetingId/pstn-events')
export class PstnEventsController {
  constructor(private readonly streams: SseStreams) {}

  @Get()
  @ApiMeetingIdParam()
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'The id of the last event received: the events after it are sent first',
    schema: { type: 'string', example: '1764838805000-0' },
  })
  @ApiOperation({
    summary:
      'Server-Sent Events: participant.joined, participant.resolved, participant.left, meeting.ended',
    description:
      'Opens for any well-formed meeting id, seen or not: events arrive as they happen. Each event carries an id; reconnect with Last-Event-ID to receive what was missed (the last 1000 events of a meeting are held). A comment line is sent every 15 s. 429 when the client or the instance holds as many streams as it may.',
  })
  @ApiOkResponse({
    description:
      'A stream of Server-Sent Events that stays open: each `event` is `participant.joined`, `participant.resolved`, `participant.left` or `meeting.ended`, its `data` the JSON `{"meeting_id", "ms_open_id"?, "area"?, "phone_number"?}` (the number once resolved), its `id` a Redis stream id for Last-Event-ID; `: connected` opens it and `: heartbeat` comes every 15 s.',
    content: {
      'text/event-stream': { schema: { type: 'string' }, example: PSTN_EVENTS_EXAMPLE },
    },
  })
  @ApiErrors({ 400: BAD_MEETING_ID, 429: TOO_MANY_STREAMS })
  events(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentCaller() caller: Caller,
    @Res() reply: FastifyReply,
  ): void {
    this.streams.admit(caller.id);
    reply.hijack();
    this.streams.stream(meetingId, lastEventId, caller.id, reply.raw);
  }
}
