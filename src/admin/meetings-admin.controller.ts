import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { MeetingIdPipe } from '../lookup/id-rules';
import { MeetingResolver } from '../resolution/meeting-resolver';
import { MeetingsQueryDto } from './admin-query.dto';
import { MeetingsAdminService } from './meetings-admin.service';
import { Numbers, NumberView, RevealDto } from './phone-masking';

@ApiTags('admin')
@RequireScope('admin')
@Controller('admin/meetings')
export class MeetingsAdminController {
  constructor(
    private readonly meetings: MeetingsAdminService,
    private readonly resolver: MeetingResolver,
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
}
