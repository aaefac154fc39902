import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source-options';

/** Any constant works; it only has to be the same for every replica. */
const MIGRATION_LOCK_KEY = 7_150_001;
/** Waits between tries to reach Postgres: 0.5 s, doubling, at most 5 s. */
const FIRST_WAIT_MS = 500;
const MAX_WAIT_MS = 5_000;

export interface PrepareOptions {
  /** How long to keep trying to reach Postgres before giving up (0: one try). */
  connectTimeoutSeconds?: number;
  logger?: Pick<Logger, 'log' | 'warn'>;
}

/**
 * Waits for Postgres (with backoff, within the timeout), creates the database when it is
 * missing, then applies pending migrations while holding a Postgres advisory lock, so replicas
 * starting together never race. Logs what it created and applied.
 */
export async function prepareDatabase(url: string, options: PrepareOptions = {}): Promise<void> {
  const logger = options.logger ?? new Logger('Database');
  await withRetries(() => createDatabaseIfMissing(url, logger), options, logger);
  const lock = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const dataSource = new DataSource(buildDataSourceOptions(url, 2));
    await dataSource.initialize();
    try {
      const applied = await dataSource.runMigrations();
      const names = applied.map((migration) => migration.name);
      logger.log(
        names.length > 0 ? `applied migrations: ${names.join(', ')}` : 'no migration pending',
      );
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await lock.end();
  }
}

async function withRetries(
  work: () => Promise<void>,
  { connectTimeoutSeconds = 0 }: PrepareOptions,
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  const deadline = Date.now() + connectTimeoutSeconds * 1000;
  for (
    let attempt = 1, wait = FIRST_WAIT_MS;
    ;
    attempt += 1, wait = Math.min(wait * 2, MAX_WAIT_MS)
  ) {
    try {
      return await work();
    } catch (error) {
      const left = deadline - Date.now();
      if (!isUnreachable(error) || left <= 0) throw error;
      logger.warn(
        `Postgres not reachable (try ${attempt}: ${(error as Error).message}); trying again in ${Math.min(wait, left)} ms`,
      );
      await sleep(Math.min(wait, left));
    }
  }
}

/** Errors that say Postgres is not there yet, rather than that it refused what we asked. */
function isUnreachable(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  return (
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', '57P03'].includes(
      code ?? '',
    ) || /timeout|terminated|starting up/i.test(message ?? '')
  );
}

async function createDatabaseIfMissing(url: string, logger: Pick<Logger, 'log'>): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new Client({
    connectionString: maintenance.toString(),
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`).then(
        () => logger.log(`created database ${name}`),
        (error: unknown) => {
          // Another replica created it between our check and our CREATE: Postgres says so as
          // "already exists" (42P04) or, when both CREATEs ran at once, as a unique violation.
          const code = (error as { code?: string }).code;
          if (code !== '42P04' && code !== '23505') throw error;
        },
      );
    }
  } finally {
    await client.end();
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
