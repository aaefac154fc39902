import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScope } from '../auth/auth.decorator';
import { LookupService } from './lookup.service';
import { MeetingIdPipe } from './meeting-id.pipe';
import { PstnEventStream, type PstnStreamEvent } from './pstn-event.stream';

const HEARTBEAT_MS = 15_000;

@ApiTags('lookup')
@ApiBearerAuth()
@RequireScope('lookup')
@Controller('v1/meetings/:meetingId/pstn-events')
export class PstnEventsController {
  constructor(
    private readonly lookups: LookupService,
    private readonly stream: PstnEventStream,
  ) {}

  @Get()
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Server-Sent Events: participant.joined, participant.resolved, participant.left, meeting.ended',
    description:
      'Each event carries an id; reconnect with Last-Event-ID to receive what was missed (the last 1000 events of a meeting are held). A comment line is sent every 15 s.',
  })
  async events(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.lookups.participants(meetingId, 'connected'); // 404 for an unknown meeting
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(': connected\n\n');
    const unsubscribe = await this.stream.subscribe(
      meetingId,
      lastEventId,
      (event) => raw.write(formatEvent(event)),
      () => raw.end(),
    );
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), HEARTBEAT_MS);
    raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  }
}

function formatEvent(event: PstnStreamEvent): string {
  const id = event.id ? `id: ${event.id}\n` : '';
  return `${id}event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
