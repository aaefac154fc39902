import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/require-scope';
import { ApiErrors } from '../common/error-responses';
import { BAD_QUERY } from '../common/paging';
import { CONTROL_ACTIONS_EXAMPLE, CONTROL_ACTIONS_PAGE } from './control-answers';
import { ControlActionLog } from './control-action-log';
import { ControlActionsQueryDto } from './control-actions-query.dto';

@ApiTags('admin')
@RequireScope('admin')
@Controller('admin/control-actions')
export class ControlActionsAdminController {
  constructor(private readonly log: ControlActionLog) {}

  @Get()
  @ApiOperation({
    summary: 'The actions taken on phone callers, newest first',
    description:
      'Who asked, which callers Tencent was asked to act on, each result with its error, every error_code Tencent answered, upstream attempts and latency. Numbers are kept masked only, so there is nothing to reveal. `answered_at` null: still in progress, or it failed without an answer.',
  })
  @ApiOkResponse({
    description: 'A page of actions',
    schema: CONTROL_ACTIONS_PAGE,
    example: CONTROL_ACTIONS_EXAMPLE,
  })
  @ApiErrors({ 400: BAD_QUERY })
  list(@Query() query: ControlActionsQueryDto) {
    return this.log.list(query);
  }
}
