import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import {
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { RequireScope } from '../auth/require-scope';
import { ApiErrors } from '../common/error-responses';
import type { JsonSchema } from '../common/schema-validation';
import {
  ApiMeetingIdParam,
  ApiMsOpenIdParam,
  BAD_MEETING_ID,
  BAD_MS_OPEN_ID,
  MeetingIdPipe,
  MsOpenIdPipe,
} from './id-rules';
import {
  BAD_PARTICIPANTS_QUERY,
  PARTICIPANT_ANSWER,
  PARTICIPANT_EXAMPLE_ANSWER,
  PARTICIPANT_NOT_FOUND,
  PARTICIPANTS_ANSWER,
  PARTICIPANTS_EXAMPLE,
  TOO_MANY_TRACKED_NUMBERS,
  TRACKED_NUMBERS_ANSWER,
  TRACKED_NUMBERS_EXAMPLE,
} from './lookup-answers';
import { LookupService } from './lookup.service';
import type { ParticipantView } from './lookup.store';
import {
  BAD_PHONE_NUMBER,
  phoneNumbersSchema,
  toPhoneNumbers,
  type PhoneNumberBody,
} from './phone-number.schema';

/** Numbers per request at most, as in Tencent's own endpoint. */
export const MAX_NUMBERS = 100;

const TRACKED_NUMBERS_BODY: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['phone_numbers'],
  properties: { phone_numbers: phoneNumbersSchema(MAX_NUMBERS) },
};

export class ParticipantsQueryDto {
  @ApiPropertyOptional({ enum: ['connected', 'left', 'all'], default: 'all' })
  @IsOptional()
  @IsIn(['connected', 'left', 'all'])
  status: 'connected' | 'left' | 'all' = 'all';
}

@ApiTags('lookup')
@RequireScope('lookup')
@ApiMeetingIdParam()
@Controller('v1/meetings/:meetingId')
export class LookupController {
  constructor(private readonly lookups: LookupService) {}

  @Put('tracked-numbers')
  @RouteSchema({ body: TRACKED_NUMBERS_BODY })
  @ApiBody({ schema: TRACKED_NUMBERS_BODY })
  @ApiOperation({
    summary: 'Register numbers to resolve as soon as they connect (idempotent)',
    description:
      "Works for a meeting no webhook has mentioned yet. Answers each number's current ids. 409 when the meeting would track more numbers than allowed.",
  })
  @ApiOkResponse({
    description: 'The numbers are tracked; each with the ids it has now (none yet, often)',
    schema: TRACKED_NUMBERS_ANSWER,
    example: TRACKED_NUMBERS_EXAMPLE,
  })
  @ApiErrors({ 400: [BAD_MEETING_ID, BAD_PHONE_NUMBER], 409: TOO_MANY_TRACKED_NUMBERS })
  async track(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Body() body: { phone_numbers: PhoneNumberBody[] },
  ) {
    const ids = await this.lookups.register(meetingId, toPhoneNumbers(body.phone_numbers));
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
  @ApiOperation({ summary: "The meeting's phone callers (an empty list for a meeting not seen)" })
  @ApiOkResponse({
    description: 'The phone callers in the status asked, in the order they joined',
    schema: PARTICIPANTS_ANSWER,
    example: PARTICIPANTS_EXAMPLE,
  })
  @ApiErrors({ 400: [BAD_MEETING_ID, BAD_PARTICIPANTS_QUERY] })
  async participants(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Query() query: ParticipantsQueryDto,
  ) {
    const callers = await this.lookups.participants(meetingId, query.status);
    return { meeting_id: meetingId, participants: callers.map(participantItem) };
  }

  @Get('pstn-participants/:msOpenId')
  @ApiOperation({ summary: 'Reverse lookup: which number this caller is (404 when unknown)' })
  @ApiMsOpenIdParam()
  @ApiOkResponse({
    description: 'The caller, with its number once the service knows it',
    schema: PARTICIPANT_ANSWER,
    example: PARTICIPANT_EXAMPLE_ANSWER,
  })
  @ApiErrors({ 400: [BAD_MEETING_ID, BAD_MS_OPEN_ID], 404: PARTICIPANT_NOT_FOUND })
  async participant(
    @Param('meetingId', MeetingIdPipe) meetingId: string,
    @Param('msOpenId', MsOpenIdPipe) msOpenId: string,
  ) {
    return {
      meeting_id: meetingId,
      ...participantItem(await this.lookups.caller(meetingId, msOpenId)),
    };
  }
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
