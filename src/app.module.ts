import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { ChangeFeedModule } from './change-feed/change-feed';
import { HttpEdgeModule } from './common/http-edge';
import { ConfigModule } from './config/config.module';
import { Env } from './config/env.schema';
import { ControlModule } from './control/control.module';
import { buildDataSourceOptions } from './database/data-source-options';
import { prepareDatabase } from './database/prepare-database';
import { HealthModule } from './health/health.module';
import { LookupModule } from './lookup/lookup.module';
import { MetricsModule } from './metrics/metrics.module';
import { QueueModule } from './queue/queue.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { RedisModule } from './redis/redis.module';
import { SchedulingModule } from './scheduling/scheduling.module';
import { TencentModule } from './tencent/tencent.module';
import { TrackingModule } from './tracking/tracking.module';
import { WebhookModule } from './webhook/webhook.module';

@Module({})
export class AppModule {
  /** The whole service for one validated environment; main.ts and the tests both use it. */
  static forEnv(env: Env): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forEnv(env),
        TypeOrmModule.forRootAsync({
          useFactory: async () => {
            await prepareDatabase(env.DATABASE_URL, {
              connectTimeoutSeconds: env.DATABASE_CONNECT_TIMEOUT_SECONDS,
            });
            return {
              ...buildDataSourceOptions(env.DATABASE_URL, env.DATABASE_POOL_SIZE),
              retryAttempts: 0,
            };
          },
        }),
        HttpEdgeModule,
        MetricsModule,
        QueueModule,
        RedisModule,
        TencentModule,
        AuthModule,
        WebhookModule,
        ChangeFeedModule,
        TrackingModule,
        LookupModule,
        ControlModule,
        ReconciliationModule,
        SchedulingModule,
        AdminModule,
        HealthModule,
      ],
    };
  }
}
