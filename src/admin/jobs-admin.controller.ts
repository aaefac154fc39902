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
import { JobsQueryDto } from './admin-query.dto';
import { EVENT_ID_SCHEMA, EventIdPipe } from './event-id.pipe';
import { JobsAdminService } from './jobs-admin.service';
import {
  BAD_EVENT_ID,
  JOB_NOT_FOUND,
  JOBS_EXAMPLE,
  JOBS_PAGE,
  RETRIED_ANSWER,
  RETRIED_COUNT,
} from './webhook-event-answers';

@ApiTags('admin')
@RequireScope('admin')
@Controller('admin/jobs')
export class JobsAdminController {
  constructor(private readonly jobs: JobsAdminService) {}

  @Get()
  @ApiOperation({
    summary: "The queue's failures with their errors",
    description:
      'A job is the processing of one stored webhook event (its id is the event id). `failed`: an attempt failed and the next waits for its time; `dead`: out of attempts.',
  })
  @ApiOkResponse({
    description: 'A page of jobs, newest first',
    schema: JOBS_PAGE,
    example: JOBS_EXAMPLE,
  })
  @ApiErrors({ 400: BAD_QUERY })
  list(@Query() query: JobsQueryDto) {
    return this.jobs.list(query);
  }

  @Post('retry-all')
  @HttpCode(202)
  @ApiOperation({ summary: 'Run every failed and dead job again now' })
  @ApiAcceptedResponse({
    description: 'How many jobs were made pending',
    schema: RETRIED_COUNT,
    example: { retried: 2 },
  })
  async retryAll() {
    return { retried: await this.jobs.retryAll() };
  }

  @Post(':id/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Run a failed or dead job again now' })
  @ApiParam({ name: 'id', schema: EVENT_ID_SCHEMA })
  @ApiAcceptedResponse({
    description: 'The job is pending: the worker runs it again',
    schema: RETRIED_ANSWER,
    example: { id: '42', retried: true },
  })
  @ApiErrors({ 400: BAD_EVENT_ID, 404: JOB_NOT_FOUND })
  async retry(@Param('id', EventIdPipe) id: string) {
    await this.jobs.retry(id);
    return { id, retried: true };
  }
}
