import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { JobsQueryDto } from './admin-query.dto';
import { EventIdPipe } from './event-id.pipe';
import { JobsAdminService } from './jobs-admin.service';

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
  list(@Query() query: JobsQueryDto) {
    return this.jobs.list(query);
  }

  @Post('retry-all')
  @HttpCode(202)
  @ApiOperation({ summary: 'Run every failed and dead job again now' })
  @ApiAcceptedResponse({ schema: { example: { retried: 2 } } })
  async retryAll() {
    return { retried: await this.jobs.retryAll() };
  }

  @Post(':id/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Run a failed or dead job again now' })
  @ApiAcceptedResponse({ schema: { example: { id: '42', retried: true } } })
  async retry(@Param('id', EventIdPipe) id: string) {
    await this.jobs.retry(id);
    return { id, retried: true };
  }
}
