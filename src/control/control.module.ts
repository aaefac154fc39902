import { Module } from '@nestjs/common';
import { LookupModule } from '../lookup/lookup.module';
import { ResolutionModule } from '../resolution/resolution.module';
import { ActionExecution } from './action-execution';
import { ControlActionLog } from './control-action-log';
import { ControlActionsAdminController } from './control-actions-admin.controller';
import { ControlCalls } from './control-calls';
import { PhoneCallerActionsController } from './phone-caller-actions.controller';
import { PhoneCallerActionsService } from './phone-caller-actions.service';
import { PhoneCallersStore } from './phone-callers.store';

/** Acting on phone callers by number (section 4b), and its record for operators. */
@Module({
  imports: [LookupModule, ResolutionModule],
  controllers: [PhoneCallerActionsController, ControlActionsAdminController],
  providers: [
    PhoneCallerActionsService,
    ActionExecution,
    ControlCalls,
    ControlActionLog,
    PhoneCallersStore,
  ],
})
export class ControlModule {}
