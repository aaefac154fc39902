import { existsSync } from 'node:fs';
import {
  DEV_SECRETS,
  dropRedisKeys,
  freePort,
  freshDatabase,
  runKeyPrefix,
  SERVICE_SCRIPT,
  serviceEnv,
  startNode,
  stop,
} from '../service-process';
import { FakeTencentServer, type FakeTencentOptions } from '../fake-tencent/fake-tencent-server';
import { FlakyUpstream } from './flaky-upstream';
import type { ServiceTarget } from './service-client';

/**
 * What the simulator plays against: the fake Tencent Meeting API (behind the failure
 * injector) and either the compiled service it starts itself or a service already running.
 */

export const SIMULATOR_DATABASE = 'pstn_tracker_sim';

export interface UpstreamOptions {
  latencyMs: number;
  failureRate: number;
}

export interface Environment {
  target: ServiceTarget;
  fake: FakeTencentServer;
  upstream: FlakyUpstream;
  /** Where the service must send its Tencent calls. */
  tencentUrl: string;
  describe: string;
  close(): Promise<void>;
}

/** Starts the fake Tencent and the compiled service (dist/) pointed at it, on a fresh database. */
export async function startOwnService(options: UpstreamOptions): Promise<Environment> {
  const tencent = await startTencent(
    {
      secretId: DEV_SECRETS.TENCENT_SECRET_ID,
      secretKey: DEV_SECRETS.TENCENT_SECRET_KEY,
      appId: DEV_SECRETS.TENCENT_APP_ID,
    },
    options,
    { port: 0, host: '127.0.0.1' },
  );
  try {
    const databaseUrl = await freshDatabase(SIMULATOR_DATABASE);
    const port = await freePort();
    const prefix = runKeyPrefix('sim');
    const service = await startNode(
      SERVICE_SCRIPT,
      serviceEnv(port, databaseUrl, {
        TENCENT_API_BASE_URL: tencent.url,
        TENCENT_SDK_ID: '',
        REDIS_KEY_PREFIX: prefix,
      }),
      port,
    );
    return {
      target: {
        baseUrl: `http://127.0.0.1:${port}`,
        adminToken: DEV_SECRETS.ADMIN_TOKEN,
        webhookToken: DEV_SECRETS.TENCENT_WEBHOOK_TOKEN,
        aesKey: DEV_SECRETS.TENCENT_WEBHOOK_AES_KEY,
      },
      fake: tencent.fake,
      upstream: tencent.upstream,
      tencentUrl: tencent.url,
      describe: `service (dist/src/main.js) on http://127.0.0.1:${port}, database ${SIMULATOR_DATABASE}`,
      close: async () => {
        await stop(service);
        await tencent.close();
        await dropRedisKeys(prefix);
      },
    };
  } catch (error) {
    await tencent.close();
    throw error;
  }
}

export interface RunningServiceOptions extends UpstreamOptions {
  url: string;
  adminToken?: string;
  webhookToken?: string;
  aesKey?: string;
  /** The port the running service's TENCENT_API_BASE_URL points at. */
  tencentPort: number;
}

/**
 * Plays against a service that is already running. Secrets not given as flags are read from
 * the environment and `.env` under the service's own variable names, and the fake Tencent
 * checks signatures with the service's TENCENT_SECRET_ID/KEY and TENCENT_APP_ID. It listens on
 * FAKE_TENCENT_HOST (loopback by default): docker compose's demo sets 0.0.0.0, so that the
 * service's container reaches it.
 */
export async function useRunningService(options: RunningServiceOptions): Promise<Environment> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = process.env;
  const first = (list: string | undefined) => list?.split(',')[0] || undefined;
  const adminToken = options.adminToken ?? env.ADMIN_TOKEN;
  const webhookToken = options.webhookToken ?? first(env.TENCENT_WEBHOOK_TOKEN);
  if (!adminToken || !webhookToken) {
    throw new Error(
      '--token and --webhook-token are needed (or ADMIN_TOKEN, TENCENT_WEBHOOK_TOKEN)',
    );
  }
  const tencent = await startTencent(
    {
      secretId: env.TENCENT_SECRET_ID ?? DEV_SECRETS.TENCENT_SECRET_ID,
      secretKey: env.TENCENT_SECRET_KEY ?? DEV_SECRETS.TENCENT_SECRET_KEY,
      appId: env.TENCENT_APP_ID ?? DEV_SECRETS.TENCENT_APP_ID,
      sdkId: env.TENCENT_SDK_ID || undefined,
    },
    options,
    { port: options.tencentPort, host: env.FAKE_TENCENT_HOST ?? '127.0.0.1' },
  );
  return {
    target: {
      baseUrl: options.url,
      adminToken,
      webhookToken,
      aesKey: options.aesKey ?? first(env.TENCENT_WEBHOOK_AES_KEY),
    },
    fake: tencent.fake,
    upstream: tencent.upstream,
    tencentUrl: tencent.url,
    describe: `running service at ${options.url}; its TENCENT_API_BASE_URL must lead to the fake Tencent (listening on ${tencent.url})`,
    close: () => tencent.close(),
  };
}

/**
 * The fake Tencent on loopback and, where the service calls, the failure injector in front of
 * it: only the injector must be reachable from the service.
 */
async function startTencent(
  credentials: FakeTencentOptions,
  { latencyMs, failureRate }: UpstreamOptions,
  listen: { port: number; host: string },
) {
  // Tencent's own limit per app; the service paces itself below it.
  const fake = new FakeTencentServer({ ...credentials, ratePerMinute: 300 });
  fake.setLatency(latencyMs);
  const fakeUrl = await fake.start();
  const upstream = new FlakyUpstream(fake, fakeUrl, failureRate);
  try {
    const url = await upstream.start(listen.port, listen.host);
    return {
      fake,
      upstream,
      url,
      close: async () => {
        await upstream.close();
        await fake.close();
      },
    };
  } catch (error) {
    await fake.close();
    throw error;
  }
}
