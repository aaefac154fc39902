import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorator';
import { StatsService } from './stats.service';

@ApiTags('admin')
@ApiBearerAuth()
@RequireScope('admin')
@Controller('admin/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Counts by state, upstream calls and errors in the last hour, queue depth, oldest unprocessed event',
  })
  read() {
    return this.stats.read();
  }
}
