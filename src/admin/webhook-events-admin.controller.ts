import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { ApiErrors } from '../common/error-responses';
import { BAD_QUERY } from '../common/paging';
import { WebhookEventsQueryDto } from './admin-query.dto';
import { EVENT_ID_SCHEMA, EventIdPipe } from './event-id.pipe';
import { BAD_REVEAL, Numbers, NumberView, RevealDto } from './phone-masking';
import {
  BAD_EVENT_ID,
  EVENT_DETAIL,
  EVENT_DETAIL_EXAMPLE,
  EVENT_NOT_FOUND,
  EVENTS_EXAMPLE,
  EVENTS_PAGE,
  REPLAYED_ANSWER,
  REPLAYED_COUNT,
} from './webhook-event-answers';
import { WebhookEventsAdminService } from './webhook-events-admin.service';

@ApiTags('admin')
@RequireScope('admin')
@Controller('admin/webhook-events')
export class WebhookEventsAdminController {
  constructor(private readonly events: WebhookEventsAdminService) {}

  @Get()
  @ApiOperation({ summary: 'Stored webhook events, newest first' })
  @ApiOkResponse({
    description: 'A page of events, without their payloads',
    schema: EVENTS_PAGE,
    example: EVENTS_EXAMPLE,
  })
  @ApiErrors({ 400: BAD_QUERY })
  list(@Query() query: WebhookEventsQueryDto) {
    return this.events.list(query);
  }

  @Post('replay-failed')
  @HttpCode(202)
  @ApiOperation({ summary: 'Process every failed event again' })
  @ApiAcceptedResponse({
    description: 'How many failed and dead events were made pending',
    schema: REPLAYED_COUNT,
    example: { replayed: 3 },
  })
  async replayFailed() {
    return { replayed: await this.events.replayFailed() };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One event, decoded (phone numbers masked unless revealed)' })
  @ApiParam({ name: 'id', schema: EVENT_ID_SCHEMA })
  @ApiOkResponse({
    description: 'The event with its decoded payload (or, quarantined, its text)',
    schema: EVENT_DETAIL,
    example: EVENT_DETAIL_EXAMPLE,
  })
  @ApiErrors({ 400: [BAD_EVENT_ID, BAD_REVEAL], 404: EVENT_NOT_FOUND })
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
  @ApiParam({ name: 'id', schema: EVENT_ID_SCHEMA })
  @ApiAcceptedResponse({
    description: 'The event is pending: the worker applies it again',
    schema: REPLAYED_ANSWER,
    example: { id: '42', replayed: true },
  })
  @ApiErrors({ 400: BAD_EVENT_ID, 404: EVENT_NOT_FOUND })
  async replay(@Param('id', EventIdPipe) id: string) {
    await this.events.replay(id);
    return { id, replayed: true };
  }
}
