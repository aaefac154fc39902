import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Stops and starts the machine's own Postgres and Redis, with the commands CI uses to start
 * them (scripts/ensure-services.sh), so a fault spec always leaves them running.
 */

const ENSURE_SERVICES = join(__dirname, '../../scripts/ensure-services.sh');

export function stopPostgres(): void {
  const version = readdirSync('/etc/postgresql')[0];
  execFileSync('pg_ctlcluster', [
    '--skip-systemctl-redirect',
    version,
    'main',
    'stop',
    '-m',
    'fast',
  ]);
}

export function stopRedis(): void {
  execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'shutdown', 'nosave']);
}

/** Starts whichever of the two is down and waits until both answer. */
export function ensureServices(): void {
  execFileSync('bash', [ENSURE_SERVICES], { stdio: 'ignore' });
}
