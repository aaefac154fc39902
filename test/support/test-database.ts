import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { inject } from 'vitest';
import { quoteIdentifier } from '../../src/database/prepare-database';

/** Postgres server the tests use; databases on it are created and dropped by the tests. */
export const TEST_SERVER_URL =
  process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
/**
 * Each run has its own id (chosen by the global setup), so runs in parallel never drop each
 * other's databases.
 */
export function runPrefixFor(runId: string): string {
  return `pstn_tracker_test_${runId}_`;
}

function templateDatabase(): string {
  return `${runPrefixFor(inject('testRunId'))}template`;
}

export function databaseUrl(name: string): string {
  assertTestDatabase(name);
  return `${TEST_SERVER_URL}/${name}`;
}

/** The test setup refuses to touch a database whose name does not say it is for tests. */
export function assertTestDatabase(name: string): void {
  if (!name.includes('test')) throw new Error(`refusing to use non-test database "${name}"`);
}

export async function withServer<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: `${TEST_SERVER_URL}/postgres` });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** The URL of a database of this run that does not exist yet (the service creates it). */
export function newTestDatabaseUrl(): string {
  return databaseUrl(`${runPrefixFor(inject('testRunId'))}${randomBytes(4).toString('hex')}`);
}

/** A fresh database for one spec file, cloned from the migrated template in milliseconds. */
export async function createTestDatabase(): Promise<string> {
  const name = `${runPrefixFor(inject('testRunId'))}${randomBytes(4).toString('hex')}`;
  await withServer((client) =>
    client.query(
      `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(templateDatabase())}`,
    ),
  );
  return databaseUrl(name);
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  assertTestDatabase(name);
  await withServer((client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`),
  );
}
