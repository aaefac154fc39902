import { Global, Module } from '@nestjs/common';
import { ApiClientsAdminController } from './api-clients-admin.controller';
import { ApiClientsService } from './api-clients.service';
import { AuthFailureLimiter } from './auth-failure-limiter';

@Global()
@Module({
  controllers: [ApiClientsAdminController],
  providers: [ApiClientsService, AuthFailureLimiter],
  exports: [ApiClientsService],
})
export class AuthModule {}
