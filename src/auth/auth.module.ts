import { Global, Module } from '@nestjs/common';
import { ApiClientsService } from './api-clients.service';
import { ApiAuthGuard } from './auth.decorator';

@Global()
@Module({
  providers: [ApiClientsService, ApiAuthGuard],
  exports: [ApiClientsService, ApiAuthGuard],
})
export class AuthModule {}
