import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { createRootLogger, NestPinoLogger } from './common/logger';
import { validateEnv } from './config/env.schema';
import { APP_OPTIONS, configureApp, createFastifyAdapter } from './configure-app';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateEnv(process.env);
  const logger = createRootLogger(env.LOG_LEVEL);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forEnv(env),
    createFastifyAdapter(env, logger),
    { ...APP_OPTIONS, logger: new NestPinoLogger(logger) },
  );
  configureApp(app);
  await app.listen(env.PORT, '0.0.0.0');
  logger.info({ port: env.PORT }, 'pstn-tracker listening');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
