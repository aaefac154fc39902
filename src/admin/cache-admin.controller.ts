import { Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { ApiError } from '../common/api-error';
import { ApiErrors } from '../common/error-responses';
import { ApiMeetingIdParam, BAD_MEETING_ID, MeetingIdPipe } from '../lookup/id-rules';
import { CACHE_UNAVAILABLE } from '../lookup/lookup-answers';
import { LookupService } from '../lookup/lookup.service';
import { MappingCache, type CallerEntry } from '../lookup/mapping.cache';
import { CACHE_ENTRIES, CACHE_ENTRIES_EXAMPLE, REBUILT_ANSWER } from './cache-answers';
import { MEETING_NOT_FOUND } from './meeting-answers';
import { MeetingsAdminService } from './meetings-admin.service';
import { BAD_REVEAL, Numbers, NumberView, RevealDto } from './phone-masking';

@ApiTags('admin')
@RequireScope('admin')
@ApiMeetingIdParam()
@Controller('admin/cache/meetings/:meetingId')
export class CacheAdminController {
  constructor(
    private readonly cache: MappingCache,
    private readonly lookups: LookupService,
    private readonly meetings: MeetingsAdminService,
  ) {}

  @Get()
  @ApiOperation({
    summary: "A meeting's cache entries",
    description: 'Numbers are keyed by an HMAC in Redis; callers show their number masked.',
  })
  @ApiOkResponse({
    description: "The meeting's entries as Redis holds them (none: nothing cached)",
    schema: CACHE_ENTRIES,
    example: CACHE_ENTRIES_EXAMPLE,
  })
  @ApiErrors({ 400: [BAD_MEETING_ID, BAD_REVEAL], 503: CACHE_UNAVAILABLE })
  async entries(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Query() _reveal: RevealDto,
    @Numbers() numbers: NumberView,
  ) {
    const entries = await this.cache.entries(meetingId).catch(() => {
      throw ApiError.of(503, CACHE_UNAVAILABLE);
    });
    const callers = Object.entries(entries.callers).map(([msOpenId, value]) => {
      const { area, phoneNumber, ...caller } = JSON.parse(value) as CallerEntry;
      return { ms_open_id: msOpenId, ...caller, number: numbers.number(area, phoneNumber) };
    });
    const byNumber = Object.entries(entries.numbers).map(([field, value]) => ({
      field,
      value: JSON.parse(value) as unknown,
    }));
    return { meeting_id: meetingId, numbers: byNumber, callers };
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: "Purge a meeting's cache entries (Postgres is untouched)" })
  @ApiNoContentResponse({ description: 'Purged; the next lookups fill it from Postgres' })
  @ApiErrors({ 400: BAD_MEETING_ID, 503: CACHE_UNAVAILABLE })
  async purge(@Param('meetingId', MeetingIdPipe) meetingId: string): Promise<void> {
    if (!(await this.cache.invalidate(meetingId))) {
      throw ApiError.of(503, CACHE_UNAVAILABLE);
    }
  }

  @Post('rebuild')
  @HttpCode(200)
  @ApiOperation({ summary: "Rebuild a meeting's cache entries from Postgres" })
  @ApiOkResponse({
    description: 'Rebuilt',
    schema: REBUILT_ANSWER,
    example: { meeting_id: '13339451618278424869', numbers: 3 },
  })
  @ApiErrors({ 400: BAD_MEETING_ID, 404: MEETING_NOT_FOUND, 503: CACHE_UNAVAILABLE })
  async rebuild(@Param('meetingId', MeetingIdPipe) meetingId: string) {
    await this.meetings.assertExists(meetingId);
    return { meeting_id: meetingId, numbers: await this.lookups.rebuildCache(meetingId) };
  }
}
