import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { prepareDatabase } from '../src/database/prepare-database';
import { TcpProxy } from './support/tcp-proxy';
import { dropTestDatabase, newTestDatabaseUrl, TEST_SERVER_URL } from './support/test-database';

const created: string[] = [];

afterAll(async () => {
  for (const url of created) await dropTestDatabase(url);
});

/** A logger that keeps what it was told. */
function recorder() {
  const lines: { level: string; message: string }[] = [];
  return {
    lines,
    log: (message: string) => lines.push({ level: 'log', message }),
    warn: (message: string) => lines.push({ level: 'warn', message }),
  };
}

it('waits for a Postgres that comes up late, saying so, then creates and migrates', async () => {
  const port = 40_000 + Math.floor(Math.random() * 20_000);
  const url = newTestDatabaseUrl().replace(new URL(TEST_SERVER_URL).host, `127.0.0.1:${port}`);
  created.push(url.replace(`127.0.0.1:${port}`, new URL(TEST_SERVER_URL).host));
  const logger = recorder();
  const preparing = prepareDatabase(url, { connectTimeoutSeconds: 20, logger });
  await sleep(1_200);
  // Postgres "starts": its port answers from now on.
  const proxy = await TcpProxy.start(5432, port);
  try {
    await preparing;
  } finally {
    await proxy.close();
  }
  const tries = logger.lines.filter((line) => line.level === 'warn');
  expect(tries.length).toBeGreaterThan(0);
  expect(tries[0].message).toMatch(
    /^Postgres not reachable \(try 1: .*ECONNREFUSED.*\); trying again in 500 ms$/,
  );
  const name = new URL(url).pathname.slice(1);
  expect(logger.lines.filter((line) => line.level === 'log').map((line) => line.message)).toEqual([
    `created database ${name}`,
    expect.stringMatching(/^applied migrations: CreateWebhookEvents1764000000000, /),
  ]);
});

it('gives up when Postgres stays unreachable past the timeout', async () => {
  const logger = recorder();
  const started = Date.now();
  await expect(
    prepareDatabase('postgres://postgres@127.0.0.1:9/pstn_tracker_test_never', {
      connectTimeoutSeconds: 1,
      logger,
    }),
  ).rejects.toThrow(/ECONNREFUSED/);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(logger.lines.length).toBeGreaterThan(1);
});
