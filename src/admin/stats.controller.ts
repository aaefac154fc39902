import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { STATS_ANSWER, STATS_EXAMPLE } from './stats-answer';
import { StatsService } from './stats.service';

@ApiTags('admin')
@RequireScope('admin')
@Controller('admin/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Counts by state, upstream calls and errors in the last hour, queue depth, oldest unprocessed event',
  })
  @ApiOkResponse({ description: 'The counts', schema: STATS_ANSWER, example: STATS_EXAMPLE })
  read() {
    return this.stats.read();
  }
}
