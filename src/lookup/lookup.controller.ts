import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorator';
import type { NumberIds } from './mapping.cache';
import { MsOpenIdLookupDto, ParticipantsQueryDto, TrackedNumbersDto } from './lookup.dto';
import { LookupService, type ParticipantView } from './lookup.service';
import { MeetingIdPipe } from './meeting-id.pipe';
import { toPhoneNumber, type PhoneNumberDto } from './phone-number.dto';

@ApiTags('lookup')
@ApiBearerAuth()
@RequireScope('lookup')
@Controller('v1/meetings/:meetingId')
export class LookupController {
  constructor(private readonly lookups: LookupService) {}

  @Post('phone/ms-open-id')
  @HttpCode(200)
  @ApiOperation({
    summary: "Drop-in for Tencent's ms-open-id endpoint",
    description:
      'Same request and answer as Tencent; each item also has `status`. Answers from the cache, then Postgres; a number never resolved in a meeting with a connected phone caller is asked of Tencent once.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        meeting_id: '13339451618278424869',
        ms_open_id_list: [
          {
            area: 86,
            phone_number: 13888888888,
            ms_open_id: 'WMfgHRYj6m36mcDGtK',
            status: 'connected',
          },
        ],
      },
    },
  })
  async msOpenId(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Body() body: MsOpenIdLookupDto,
  ) {
    const ids = await this.lookups.lookup(meetingId, body.phone_numbers.map(toPhoneNumber));
    return { meeting_id: meetingId, ms_open_id_list: listItems(body.phone_numbers, ids) };
  }

  @Put('tracked-numbers')
  @ApiOperation({
    summary: 'Register numbers to resolve as soon as they connect (idempotent)',
    description: "Answers each number's current ids.",
  })
  async track(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Body() body: TrackedNumbersDto,
  ) {
    const ids = await this.lookups.track(meetingId, body.phone_numbers.map(toPhoneNumber));
    return {
      meeting_id: meetingId,
      phone_numbers: body.phone_numbers.map((number, index) => ({
        area: number.area,
        phone_number: number.phone_number,
        ms_open_ids: ids[index].ids.map((id) => ({ ms_open_id: id.msOpenId, status: id.status })),
      })),
    };
  }

  @Get('pstn-participants')
  @ApiOperation({ summary: "The meeting's phone callers" })
  async participants(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Query() query: ParticipantsQueryDto,
  ) {
    const callers = await this.lookups.participants(meetingId, query.status);
    return { meeting_id: meetingId, participants: callers.map(participantItem) };
  }

  @Get('pstn-participants/:msOpenId')
  @ApiOperation({ summary: 'Reverse lookup: which number this caller is (404 when unknown)' })
  async participant(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Param('msOpenId') msOpenId: string,
  ) {
    return {
      meeting_id: meetingId,
      ...participantItem(await this.lookups.caller(meetingId, msOpenId)),
    };
  }
}

/** Tencent's list shape: one item per id, numbers echoed in the form they were asked. */
export function listItems(asked: PhoneNumberDto[], ids: NumberIds[]) {
  return asked.flatMap((number, index) =>
    ids[index].ids.map((id) => ({
      area: number.area,
      phone_number: number.phone_number,
      ms_open_id: id.msOpenId,
      status: id.status,
    })),
  );
}

function participantItem(caller: ParticipantView) {
  return {
    ms_open_id: caller.msOpenId,
    instance_id: 0,
    area: caller.area,
    phone_number: caller.phoneNumber,
    status: caller.status,
    joined_at: caller.joinedAt,
    left_at: caller.leftAt,
  };
}
