import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

/** Running the compiled service as its own process, as the benchmarks and the simulator do. */

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * Starts `node script` with the V8 flags the image's CMD gives the service (services and
 * baselines alike, so a ratio compares code) and waits until its port accepts HTTP requests.
 */
export async function startNode(
  script: string,
  env: Record<string, string>,
  port: number,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return child;
    } catch {
      if (Date.now() > deadline) throw new Error(`${script} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * A REDIS_KEY_PREFIX of one run of a tool (`bench:3fa2c1:`): the run's keys are apart from any
 * other service's, and dropRedisKeys removes them when it ends.
 */
export function runKeyPrefix(tool: string): string {
  return `${tool}:${randomBytes(3).toString('hex')}:`;
}

/**
 * Deletes the keys a run wrote under its prefix; they would otherwise stay until they expire, up
 * to two days later (a meeting's generation counter).
 */
export async function dropRedisKeys(prefix: string): Promise<void> {
  // A Redis that is not answering fails this at once rather than being retried.
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', {
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // the scan below fails with it
  try {
    const batches = redis.scanStream({ match: `${prefix}*`, count: 1000 });
    for await (const keys of batches as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

/** Drops and creates a database for a benchmark or a simulation. */
export async function freshDatabase(name: string): Promise<string> {
  const server = process.env.BENCH_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
  const client = new Client({ connectionString: `${server}/postgres` });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  return `${server}/${name}`;
}

export const DEV_SECRETS = {
  TENCENT_WEBHOOK_TOKEN: 'devToken00000000000000000',
  TENCENT_WEBHOOK_AES_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
  TENCENT_SECRET_ID: 'dev-secret-id',
  TENCENT_SECRET_KEY: 'dev-secret-key',
  TENCENT_APP_ID: 'dev-app-id',
  TENCENT_OPERATOR_ID: 'dev-operator',
  ADMIN_TOKEN: 'dev-admin-token-00000000000000000000000',
};

/**
 * The heap the Dockerfile and `npm run start:prod` give the service (see the README on why the
 * young generation is set too). The benchmarks' baselines run with it as well, so a ratio
 * compares code, not heap sizes: without it a baseline gets a young generation several times
 * the service's.
 */
export const NODE_RUNTIME_OPTIONS = '--max-old-space-size=128 --max-semi-space-size=8';

/**
 * The V8 flags of the image's CMD and `npm run start:prod` (V8 flags are refused in
 * NODE_OPTIONS). Without allocation-site pretenuring: with it, V8 sometimes (14 processes of
 * 41, measured 2026-12-08) decided that request objects live long, allocated them in the old
 * generation from then on, and the process ran lookups at ~1.7x the CPU for the rest of its
 * life, most of it in garbage collection (see the README).
 */
export const NODE_RUNTIME_FLAGS = ['--no-allocation-site-pretenuring'];

/** The environment of the whole service (compiled) with the tools' secrets. */
export function serviceEnv(port: number, databaseUrl: string, extra: Record<string, string> = {}) {
  return {
    ...DEV_SECRETS,
    // The tools never speak to the real Tencent: a run that starts no fake gets an address
    // where nothing listens (and the service accepts the placeholder secrets only off Tencent).
    TENCENT_API_BASE_URL: 'http://127.0.0.1:9',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    NODE_OPTIONS: NODE_RUNTIME_OPTIONS,
    ...extra,
  };
}

export const SERVICE_SCRIPT = join(__dirname, '../src/main.js');
