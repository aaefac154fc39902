import { DynamicModule, Global, Module } from '@nestjs/common';
import { Env } from './env.schema';

/** Makes the validated environment injectable everywhere as `Env`. */
@Global()
@Module({})
export class ConfigModule {
  static forEnv(env: Env): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: Env, useValue: env }], exports: [Env] };
  }
}
