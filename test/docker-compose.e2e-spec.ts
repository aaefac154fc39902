import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NODE_RUNTIME_FLAGS, NODE_RUNTIME_OPTIONS } from '../tools/service-process';

/**
 * No Docker engine runs where the tests do, so what `docker compose up --build` needs on a fresh
 * machine is checked in the files themselves: each rule here is one a first start broke.
 */
const root = join(__dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: { target?: string };
  profiles?: string[];
  env_file?: { path: string; required: boolean }[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
const { services } = compose;

/** The Dockerfile's stages by name, each with its instructions. */
function stages(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of read('Dockerfile').split('\n')) {
    const from = /^FROM \S+ AS (\S+)/i.exec(line);
    if (from) found.set(from[1], (current = []));
    else if (/^[A-Z]+ /.test(line)) current.push(line);
  }
  return found;
}

describe('docker-compose.yml and the Dockerfile', () => {
  it('gives every service a healthcheck, and the long-running ones a restart policy', () => {
    for (const [name, service] of Object.entries(services)) {
      // The service's healthcheck is its image's (node fetching /health/ready).
      const healthcheck =
        service.healthcheck ?? (name === 'service' ? { test: ['image HEALTHCHECK'] } : undefined);
      expect(healthcheck, name).toBeDefined();
      expect(healthcheck?.test.join(' '), name).not.toMatch(/\bcurl\b|\bwget\b/);
      if (!service.profiles) expect(service.restart, name).toBe('unless-stopped');
    }
    expect(read('Dockerfile')).toMatch(
      /HEALTHCHECK[^\n]*\n\s*CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:3000\/health\/ready'\)/,
    );
  });

  it('waits for a Postgres that accepts TCP, not its socket-only init server', () => {
    expect(services.postgres.healthcheck?.test).toEqual(
      expect.arrayContaining(['pg_isready', '-h', '127.0.0.1']),
    );
    expect(services.service.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  });

  it('reads settings from .env, with .env.example as the fallback', () => {
    for (const name of ['service', 'simulator']) {
      expect(services[name].env_file, name).toEqual([
        { path: '.env.example', required: true },
        { path: '.env', required: false },
      ]);
    }
  });

  it('runs the simulator as the fake Tencent only in the demo profile, reachable by the service', () => {
    expect(services.simulator.profiles).toEqual(['demo']);
    expect(services.simulator.environment?.FAKE_TENCENT_HOST).toBe('0.0.0.0');
    const port =
      services.simulator.command?.[services.simulator.command.indexOf('--tencent-port') + 1];
    expect(services.service.environment?.TENCENT_API_BASE_URL).toBe(
      `\${TENCENT_API_BASE_URL:-http://simulator:${port}}`,
    );
    expect(services.simulator.command).toEqual(
      expect.arrayContaining(['dist/tools/simulator/simulate.js', '--url', 'http://service:3000']),
    );
  });

  it('builds a service image that carries no tools, tests or sources', () => {
    const service = stages().get(services.service.build?.target ?? '') ?? [];
    // Each COPY of the image's stage, as its source: only the compiled service and its runtime.
    const sources = service
      .filter((line) => line.startsWith('COPY'))
      .map((line) => line.split(/\s+/).slice(-2, -1)[0]);
    expect(sources.sort()).toEqual(
      ['/app/dist/migrations', '/app/dist/src', '/app/node_modules', 'package.json'].sort(),
    );
    expect(stages().has(services.simulator.build?.target ?? '')).toBe(true);
  });

  it('starts the service with the same Node flags in the image, start:prod and the tools', () => {
    const service = (stages().get(services.service.build?.target ?? '') ?? []).join('\n');
    const nodeOptions = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(service)?.[1] ?? '';
    const command = JSON.parse(/^CMD (\[.*\])$/m.exec(service)?.[1] ?? '[]') as string[];
    const image = [...nodeOptions.split(' '), ...command.slice(1, -1)];
    const startProd = (
      JSON.parse(read('package.json')) as { scripts: Record<string, string> }
    ).scripts['start:prod'].split(' ');
    const tools = [...NODE_RUNTIME_OPTIONS.split(' '), ...NODE_RUNTIME_FLAGS];

    expect(command.at(-1)).toBe('dist/src/main.js');
    expect(startProd.at(-1)).toBe('dist/src/main.js');
    expect(image.sort()).toEqual(tools.sort());
    expect(startProd.slice(1, -1).sort()).toEqual(tools.sort());
    expect(tools).toContain('--no-allocation-site-pretenuring');
  });
});
