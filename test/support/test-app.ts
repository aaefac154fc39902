import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { createRootLogger, NestPinoLogger } from '../../src/common/logger';
import { Env, validateEnv } from '../../src/config/env.schema';
import { APP_OPTIONS, configureApp, createFastifyAdapter } from '../../src/configure-app';
import { testKeyPrefix } from './test-redis';

export const PLAIN_TOKEN = 'plainToken0000000000000aa';
export const AES_TOKEN = 'aesToken00000000000000bbb';
export const AES_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
export const ADMIN_TOKEN = 'test-admin-token-0000000000000000000000';
/** What the fake Tencent server expects; testEnv configures the service with the same. */
export const TENCENT_CREDENTIALS = {
  secretId: 'test-secret-id',
  secretKey: 'test-secret-key',
  appId: 'test-app-id',
};

/**
 * The settings a test instance runs with, in-process or as a compiled process of its own; the
 * two webhook tokens cover both modes. Each call gets Redis keys of its own unless `overrides`
 * names a REDIS_KEY_PREFIX (instances that play replicas of one deployment share theirs).
 */
export function testSettings(
  databaseUrl: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_KEY_PREFIX: testKeyPrefix(),
    DATABASE_URL: databaseUrl,
    REDIS_URL: 'redis://127.0.0.1:6379/0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    TENCENT_WEBHOOK_TOKEN: `${PLAIN_TOKEN},${AES_TOKEN}`,
    TENCENT_WEBHOOK_AES_KEY: `,${AES_KEY}`,
    TENCENT_API_BASE_URL: 'http://127.0.0.1:9',
    TENCENT_SECRET_ID: TENCENT_CREDENTIALS.secretId,
    TENCENT_SECRET_KEY: TENCENT_CREDENTIALS.secretKey,
    TENCENT_APP_ID: TENCENT_CREDENTIALS.appId,
    TENCENT_OPERATOR_ID: 'test-operator',
    ADMIN_TOKEN,
    ...overrides,
  };
}

/** testSettings, checked as the service checks its environment at boot. */
export function testEnv(databaseUrl: string, overrides: Record<string, string> = {}): Env {
  return validateEnv(testSettings(databaseUrl, overrides));
}

export interface TestApp {
  app: NestFastifyApplication;
  env: Env;
  db: DataSource;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Where the log lines go (nowhere by default). */
  logDestination?: DestinationStream;
  /** Runs after the production pipeline is configured, before Fastify is ready (add hooks here). */
  beforeInit?: (app: NestFastifyApplication) => void;
}

/** Boots the real AppModule with the production pipeline (configureApp), on a test database. */
export async function startTestApp(
  env: Env,
  { logDestination, beforeInit }: TestAppOptions = {},
): Promise<TestApp> {
  const logger = createRootLogger(env.LOG_LEVEL, logDestination);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forEnv(env)] })
    .setLogger(new NestPinoLogger(logger))
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    createFastifyAdapter(env, logger),
    APP_OPTIONS,
  );
  configureApp(app);
  beforeInit?.(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return { app, env, db: app.get(DataSource), close: () => app.close() };
}
