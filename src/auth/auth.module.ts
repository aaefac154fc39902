import { Global, Module } from '@nestjs/common';
import { ApiClientsAdminController } from './api-clients-admin.controller';
import { ApiClientsService } from './api-clients.service';
import { ApiAuthGuard } from './auth.decorator';
import { AuthFailureLimiter } from './auth-failure-limiter';

@Global()
@Module({
  controllers: [ApiClientsAdminController],
  providers: [ApiClientsService, ApiAuthGuard, AuthFailureLimiter],
  exports: [ApiClientsService, ApiAuthGuard],
})
export class AuthModule {}
