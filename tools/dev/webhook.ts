import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseInternationalNumber } from '../../src/tencent/phone-number';
import { encodeWebhookData, sign, signedDelivery } from '../webhook-delivery';

const HELP = `Usage: npm run webhook -- <event> [options]

Sends a signed Tencent Meeting webhook to the service, as Tencent would.

  events:  check                  the URL check (GET ?check_str=...); prints the echoed text
           started | ended        the meeting starts or ends
           joined | left          a phone caller dials in or hangs up

  --meeting <id>       meeting id (default 1000000001)
  --number <+CC...>    the caller's number, e.g. +8613800000000 (joined, left)
  --ms-open-id <id>    the caller's ms_open_id (default: derived from the number)
  --aes                encrypt with the token that has an EncodingAESKey
  --url <url>          the service (default http://127.0.0.1:$PORT, PORT from .env or 3000)
  --no-fake            do not tell the fake Tencent (npm run dev) who joined or left

Tokens and keys are read from the environment, .env or .env.example.`;

const EVENTS = {
  started: 'meeting.started',
  ended: 'meeting.end',
  joined: 'meeting.participant-joined',
  left: 'meeting.participant-left',
} as const;

function loadEnv(): NodeJS.ProcessEnv {
  for (const file of ['.env', '.env.example']) if (existsSync(file)) process.loadEnvFile(file);
  return process.env;
}

/** The configured (token, key) pair of the wanted mode: position i of each list goes together. */
function secretFor(env: NodeJS.ProcessEnv, aes: boolean): { token: string; aesKey?: string } {
  const tokens = (env.TENCENT_WEBHOOK_TOKEN ?? '').split(',');
  const keys = (env.TENCENT_WEBHOOK_AES_KEY ?? '').split(',');
  const index = tokens.findIndex((token, i) => token && Boolean(keys[i]) === aes);
  if (index < 0) {
    throw new Error(
      `no TENCENT_WEBHOOK_TOKEN is configured ${aes ? 'with' : 'without'} an AES key`,
    );
  }
  return { token: tokens[index], aesKey: aes ? keys[index] : undefined };
}

function event(name: string, meetingId: string, operator: Record<string, string>): string {
  return JSON.stringify({
    event: name,
    trace_id: randomUUID(),
    payload: [
      {
        operate_time: Date.now(),
        operator: { userid: '', open_id: '', uuid: '', user_name: 'dev', ...operator },
        meeting_info: {
          meeting_id: meetingId,
          meeting_code: '100000001',
          subject: 'dev meeting',
          start_time: Math.floor(Date.now() / 1000),
          meeting_id_type: 0,
        },
      },
    ],
  });
}

async function tellFake(path: string, body: Record<string, string>): Promise<void> {
  const url = `${process.env.FAKE_TENCENT_CONTROL_URL ?? 'http://127.0.0.1:4011'}${path}`;
  try {
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
    console.log(`fake Tencent ${path}: ${res.status}`);
  } catch {
    console.log(`fake Tencent not reachable at ${url} (start it with npm run dev); skipped`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      meeting: { type: 'string', default: '1000000001' },
      number: { type: 'string' },
      'ms-open-id': { type: 'string' },
      aes: { type: 'boolean', default: false },
      url: { type: 'string' },
      'no-fake': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [name] = positionals;
  if (values.help || !name) {
    console.log(HELP);
    return;
  }
  const env = loadEnv();
  const url = values.url ?? `http://127.0.0.1:${env.PORT ?? 3000}`;
  const { token, aesKey } = secretFor(env, values.aes);
  const path = `${url}/webhooks/tencent-meeting`;

  if (name === 'check') {
    const plaintext = `check-${randomBytes(6).toString('hex')}`;
    const checkStr = encodeWebhookData(plaintext, aesKey);
    const res = await fetch(`${path}?check_str=${encodeURIComponent(checkStr)}`, {
      headers: sign(token, checkStr),
    });
    console.log(`${res.status} ${await res.text()}  (sent ${plaintext})`);
    return;
  }
  if (!(name in EVENTS)) throw new Error(`unknown event "${name}"; see --help`);
  const meetingId = values.meeting;
  let operator: Record<string, string> = { ms_open_id: 'DevHost', instance_id: '1' };
  if (name === 'joined' || name === 'left') {
    const number = parseInternationalNumber(values.number ?? null);
    if (!number)
      throw new Error('--number must be a full international number, e.g. +8613800000000');
    const msOpenId = values['ms-open-id'] ?? `dev-${number.area}-${number.phoneNumber.slice(-4)}`;
    operator = { ms_open_id: msOpenId, instance_id: '0', pstn_number: values.number ?? '' };
    if (!values['no-fake']) {
      await (name === 'joined'
        ? tellFake('/connect', {
            meeting_id: meetingId,
            area: number.area,
            phone_number: number.phoneNumber,
            ms_open_id: msOpenId,
          })
        : tellFake('/disconnect', { meeting_id: meetingId, ms_open_id: msOpenId }));
    }
  }
  const delivery = signedDelivery(
    token,
    event(EVENTS[name as keyof typeof EVENTS], meetingId, operator),
    aesKey,
  );
  const res = await fetch(path, {
    method: 'POST',
    headers: { ...delivery.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ data: delivery.data }),
  });
  console.log(`${res.status} ${await res.text()}`);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
