import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { MeetingIdPipe } from '../lookup/id-rules';
import { MeetingResolver } from '../resolution/meeting-resolver';
import { MeetingsQueryDto } from './admin-query.dto';
import { MeetingsAdminService } from './meetings-admin.service';
import { Numbers, NumberView, RevealDto } from './phone-masking';
import { RosterAdminService } from './roster-admin.service';

@ApiTags('admin')
@RequireScope('admin')
@Controller('admin/meetings')
export class MeetingsAdminController {
  constructor(
    private readonly meetings: MeetingsAdminService,
    private readonly resolver: MeetingResolver,
    private readonly rosters: RosterAdminService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Meetings, newest first; filter by status and first-seen time' })
  list(@Query() query: MeetingsQueryDto) {
    return this.meetings.list(query);
  }

  @Get(':meetingId')
  @ApiOperation({
    summary:
      'One meeting: phone callers, tracked numbers, mappings, recent events, resolution attempts',
  })
  detail(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Query() _reveal: RevealDto,
    @Numbers() numbers: NumberView,
  ) {
    return this.meetings.detail(meetingId, numbers);
  }

  @Post(':meetingId/resolve')
  @HttpCode(202)
  @ApiOperation({ summary: 'Ask Tencent for every number the meeting tracks, now' })
  @ApiAcceptedResponse({ schema: { example: { meeting_id: '13339451618278424869' } } })
  async resolve(@Param('meetingId', MeetingIdPipe) meetingId: string) {
    await this.meetings.assertExists(meetingId);
    void this.resolver.request(meetingId, true, { everything: true });
    return { meeting_id: meetingId };
  }

  @Post(':meetingId/reconcile')
  @HttpCode(200)
  @ApiOperation({
    summary: "Read Tencent's live roster of the meeting now and repair what webhooks missed",
    description:
      'Answers what was repaired, and the disagreements still within their grace period (the roster is read again for them at next_read_at). 404 for a meeting never seen, 409 for one that has ended, 502 when Tencent could not be read.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        meeting_id: '13339451618278424869',
        tencent_status: 'MEETING_STATE_STARTED',
        repaired: { joined: 1, left: 0, ended: 0 },
        waiting: { joined: 0, left: 1 },
        next_read_at: '2026-12-04T09:30:00.000Z',
      },
    },
  })
  reconcile(@Param('meetingId', MeetingIdPipe) meetingId: string) {
    return this.rosters.reconcile(meetingId);
  }
}
