import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { FakeTencentServer } from '../fake-tencent/fake-tencent-server';

/**
 * The fake Tencent Meeting API as a process of its own, for `npm run dev` and the demo profile
 * of docker compose: it checks signatures with the service's TENCENT_SECRET_ID/KEY and
 * TENCENT_APP_ID (from the environment, `.env` or `.env.example`) and listens on the port of
 * TENCENT_API_BASE_URL. Beside it, a small control API (FAKE_TENCENT_CONTROL_PORT, 4011) lets a
 * person or `npm run webhook` tell it who is in a meeting, as Tencent would know:
 *   POST /connect    {"meeting_id", "area", "phone_number", "ms_open_id"}
 *   POST /disconnect {"meeting_id", "ms_open_id"}
 *   POST /end        {"meeting_id"}
 *   GET  /meetings/{meeting_id}   the roster
 */

async function body(request: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, string>;
}

async function main(): Promise<void> {
  for (const file of ['.env', '.env.example']) if (existsSync(file)) process.loadEnvFile(file);
  const env = process.env;
  const base = new URL(env.TENCENT_API_BASE_URL ?? 'http://127.0.0.1:4010');
  const host = env.FAKE_TENCENT_HOST ?? '127.0.0.1';
  const fake = new FakeTencentServer({
    secretId: env.TENCENT_SECRET_ID ?? '',
    secretKey: env.TENCENT_SECRET_KEY ?? '',
    appId: env.TENCENT_APP_ID ?? '',
    sdkId: env.TENCENT_SDK_ID || undefined,
    ratePerMinute: 300,
  });
  const url = await fake.start(Number(base.port || 80), host);
  const control = createServer((request, response) => {
    void (async () => {
      const answer = (status: number, value: unknown) =>
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify(value));
      try {
        const path = request.url ?? '/';
        const roster = /^\/meetings\/(\d+)$/.exec(path);
        if (request.method === 'GET' && roster) return answer(200, fake.roster(roster[1]));
        if (request.method !== 'POST') return answer(404, { error: 'no such route' });
        const b = await body(request);
        if (path === '/connect') fake.connect(b.meeting_id, b.area, b.phone_number, b.ms_open_id);
        else if (path === '/disconnect') fake.disconnect(b.meeting_id, b.ms_open_id);
        else if (path === '/end') fake.endMeeting(b.meeting_id);
        else return answer(404, { error: 'no such route' });
        answer(200, { ok: true });
      } catch (error) {
        answer(400, { error: (error as Error).message });
      }
    })();
  });
  const controlPort = Number(env.FAKE_TENCENT_CONTROL_PORT ?? 4011);
  await new Promise<void>((resolve) => control.listen(controlPort, host, resolve));
  console.log(`fake Tencent API on ${url}, its control API on http://${host}:${controlPort}`);
  const stop = () => {
    control.close();
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
