import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { WebhookEventsQueryDto } from './admin-query.dto';
import { EventIdPipe } from './event-id.pipe';
import { Numbers, NumberView, RevealDto } from './phone-masking';
import { WebhookEventsAdminService } from './webhook-events-admin.service';

@ApiTags('admin')
@RequireScope('admin')
@Controller('admin/webhook-events')
export class WebhookEventsAdminController {
  constructor(private readonly events: WebhookEventsAdminService) {}

  @Get()
  @ApiOperation({ summary: 'Stored webhook events, newest first' })
  list(@Query() query: WebhookEventsQueryDto) {
    return this.events.list(query);
  }

  @Post('replay-failed')
  @HttpCode(202)
  @ApiOperation({ summary: 'Process every failed event again' })
  @ApiAcceptedResponse({ schema: { example: { replayed: 3 } } })
  async replayFailed() {
    return { replayed: await this.events.replayFailed() };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One event, decoded (phone numbers masked unless revealed)' })
  async get(
    @Param('id', EventIdPipe) id: string,
    @Query() _reveal: RevealDto,
    @Numbers() numbers: NumberView,
  ) {
    const event = await this.events.get(id);
    return {
      ...event,
      payload: numbers.json(event.payload),
      raw: numbers.value(event.raw),
      last_error: numbers.value(event.last_error as string | null),
    };
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Process the event again (idempotent)' })
  @ApiAcceptedResponse({ schema: { example: { id: '42', replayed: true } } })
  async replay(@Param('id', EventIdPipe) id: string) {
    await this.events.replay(id);
    return { id, replayed: true };
  }
}
