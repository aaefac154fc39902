import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { ApiErrors } from '../common/error-responses';
import { BAD_QUERY } from '../common/paging';
import { ApiMeetingIdParam, BAD_MEETING_ID, MeetingIdPipe } from '../lookup/id-rules';
import { MeetingResolver } from '../resolution/meeting-resolver';
import { MeetingsQueryDto } from './admin-query.dto';
import {
  MEETING_DETAIL,
  MEETING_DETAIL_EXAMPLE,
  MEETING_NOT_FOUND,
  MEETING_NOT_OPEN,
  MEETINGS_EXAMPLE,
  MEETINGS_PAGE,
  RECONCILE_ANSWER,
  RECONCILE_EXAMPLE,
  RESOLVE_ANSWER,
  ROSTER_UNAVAILABLE,
} from './meeting-answers';
import { MeetingsAdminService } from './meetings-admin.service';
import { BAD_REVEAL, Numbers, NumberView, RevealDto } from './phone-masking';
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
  @ApiOkResponse({
    description: 'A page of meetings',
    schema: MEETINGS_PAGE,
    example: MEETINGS_EXAMPLE,
  })
  @ApiErrors({ 400: BAD_QUERY })
  list(@Query() query: MeetingsQueryDto) {
    return this.meetings.list(query);
  }

  @Get(':meetingId')
  @ApiOperation({
    summary:
      'One meeting: phone callers, tracked numbers, mappings, recent events, resolution attempts',
  })
  @ApiMeetingIdParam()
  @ApiOkResponse({
    description: 'The meeting and everything the service knows of it',
    schema: MEETING_DETAIL,
    example: MEETING_DETAIL_EXAMPLE,
  })
  @ApiErrors({ 400: [BAD_MEETING_ID, BAD_REVEAL], 404: MEETING_NOT_FOUND })
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
  @ApiMeetingIdParam()
  @ApiAcceptedResponse({
    description: 'Asked: the call is made as soon as the rate limit allows',
    schema: RESOLVE_ANSWER,
    example: { meeting_id: '13339451618278424869' },
  })
  @ApiErrors({ 400: BAD_MEETING_ID, 404: MEETING_NOT_FOUND })
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
  @ApiMeetingIdParam()
  @ApiOkResponse({
    description: 'What was repaired, and what waits out its grace period',
    schema: RECONCILE_ANSWER,
    example: RECONCILE_EXAMPLE,
  })
  @ApiErrors({
    400: BAD_MEETING_ID,
    404: MEETING_NOT_FOUND,
    409: MEETING_NOT_OPEN,
    502: ROSTER_UNAVAILABLE,
  })
  reconcile(@Param('meetingId', MeetingIdPipe) meetingId: string) {
    return this.rosters.reconcile(meetingId);
  }
}
