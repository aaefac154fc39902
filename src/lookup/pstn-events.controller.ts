import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../auth/api-clients.service';
import { CurrentCaller, RequireScope } from '../auth/require-scope';
import { MeetingIdPipe } from './id-rules';
import { SseStreams } from './sse-streams';

@ApiTags('lookup')
@RequireScope('lookup')
@Controller('v1/meetings/:meetingId/pstn-events')
export class PstnEventsController {
  constructor(private readonly streams: SseStreams) {}

  @Get()
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Server-Sent Events: participant.joined, participant.resolved, participant.left, meeting.ended',
    description:
      'Opens for any well-formed meeting id, seen or not: events arrive as they happen. Each event carries an id; reconnect with Last-Event-ID to receive what was missed (the last 1000 events of a meeting are held). A comment line is sent every 15 s. 429 when the client or the instance holds as many streams as it may.',
  })
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
