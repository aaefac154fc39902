import type { DataSourceOptions } from 'typeorm';
import { CreateWebhookEvents1764000000000 } from '../../migrations/1764000000000-CreateWebhookEvents';
import { WebhookEvent } from '../webhook/webhook-event.entity';

export const entities = [WebhookEvent];
export const migrations = [CreateWebhookEvents1764000000000];

/** The one place database options are built: the app, the migration CLI and the tests use it. */
export function buildDataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'all',
    synchronize: false,
    logging: ['error'],
    extra: {
      max: poolSize,
      // Fail fast when Postgres is unreachable so webhook intake can answer 503 within 2 s.
      connectionTimeoutMillis: 1000,
      application_name: 'pstn-tracker',
    },
  };
}
