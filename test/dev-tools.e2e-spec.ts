import { execFile, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../tools/service-process';
import { compileProject, startCompiled, stopProcess } from './support/compiled-build';
import { createTestDatabase, dropTestDatabase } from './support/test-database';
import { ADMIN_TOKEN, testSettings } from './support/test-app';
import { testKeyPrefix } from './support/test-redis';

/**
 * The README's by-hand tour, as a newcomer runs it: `npm run dev` (the compiled service and
 * the fake Tencent side by side, with the settings of `.env`), then `npm run webhook` sending
 * signed webhooks to it, then a lookup. Both tools read `.env` from the folder they run in.
 */
const run = promisify(execFile);

let outDir: string;
let databaseUrl: string;
let port: number;
let controlPort: number;
let dev: ChildProcess | undefined;

beforeAll(async () => {
  outDir = compileProject();
  databaseUrl = await createTestDatabase();
  [port, controlPort] = [await freePort(), await freePort()];
  const settings = testSettings(databaseUrl, {
    PORT: String(port),
    REDIS_KEY_PREFIX: testKeyPrefix(`dev:${port}`),
    LOG_LEVEL: 'warn',
    TENCENT_API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
    FAKE_TENCENT_CONTROL_PORT: String(controlPort),
  });
  writeFileSync(
    join(outDir, '.env'),
    Object.entries(settings)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n'),
  );
  dev = await startCompiled(
    outDir,
    'tools/dev/dev.js',
    {},
    `http://127.0.0.1:${port}/health/ready`,
  );
}, 120_000);

afterAll(async () => {
  await stopProcess(dev);
  await dropTestDatabase(databaseUrl);
  rmSync(outDir, { recursive: true, force: true });
});

/** `npm run webhook -- <args>`, as the README shows it; answers what it printed. */
async function webhook(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(outDir, 'tools/dev/webhook.js'), ...args], {
    cwd: outDir,
    env: {
      PATH: process.env.PATH,
      FAKE_TENCENT_CONTROL_URL: `http://127.0.0.1:${controlPort}`,
    },
  });
  return stdout;
}

describe('npm run dev and npm run webhook', () => {
  it('answers a signed URL check with the text that was sent', async () => {
    const printed = await webhook('check');
    const [, status, echoed, sent] = /^(\d+) (\S+) {2}\(sent (\S+)\)$/m.exec(printed) ?? [];
    expect({ status, echoed }).toEqual({ status: '200', echoed: sent });
    expect(sent).toMatch(/^check-[0-9a-f]{12}$/);
  });

  it('drives a meeting by hand: a caller joins (AES) and the lookup answers its id', async () => {
    const meetingId = String(1_000_000_000 + port);
    expect(await webhook('started', '--meeting', meetingId)).toBe(
      '200 successfully received callback\n',
    );
    expect(
      await webhook('joined', '--meeting', meetingId, '--number', '+8613800000000', '--aes'),
    ).toBe('fake Tencent /connect: 200\n200 successfully received callback\n');

    const res = await fetch(
      `http://127.0.0.1:${port}/v1/meetings/${meetingId}/phone/ms-open-id?wait_ms=10000`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ phone_numbers: [{ area: 86, phone_number: '13800000000' }] }),
      },
    );
    expect(await res.json()).toEqual({
      meeting_id: meetingId,
      ms_open_id_list: [
        { area: 86, phone_number: '13800000000', ms_open_id: 'dev-86-0000', status: 'connected' },
      ],
    });
  });
});
