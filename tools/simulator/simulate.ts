import { parseArgs } from 'node:util';
import { startOwnService, useRunningService, type Environment } from './environment';
import { play } from './player';
import { countWrong, formatControlTable, formatTable } from './report';
import { buildScenario, MAX_CALLERS } from './scenario';
import { ServiceClient } from './service-client';

/**
 * `npm run simulate`: starts the fake Tencent Meeting API and the service pointed at it (or uses
 * a running service), plays a scenario of meetings and phone callers through signed, encrypted
 * webhooks, mutes, renames and kicks callers by number through the service, then prints what
 * the lookup API answers and what Tencent holds beside the truth. Exits 1 on a wrong answer.
 */

const HELP = `Usage: npm run simulate -- [options]

  --meetings <n>        meetings (default 3)
  --callers <n>         phone callers dialing in to each meeting, 1-${MAX_CALLERS} (default 4);
                        each meeting also places two outbound calls (one answered, one refused),
                        and the first meeting's first caller is a landline that dials in twice;
                        callers on the line are muted, renamed and kicked in turn, by number
  --rate <n>            webhooks per second (default 10)
  --latency <ms>        fake Tencent's answer time (default 50)
  --failure-rate <0..1> share of Tencent calls answered with a 5xx (default 0.1)
  --settle <s>          how long each check waits for the answers to match (default 30)

  Against a service that is already running (instead of starting one):
  --url <url>           the service, e.g. http://127.0.0.1:3000
  --token <t>           its ADMIN_TOKEN (default: $ADMIN_TOKEN or .env)
  --webhook-token <t>   its TENCENT_WEBHOOK_TOKEN (default: $TENCENT_WEBHOOK_TOKEN or .env)
  --aes-key <k>         its TENCENT_WEBHOOK_AES_KEY (default: from the environment or .env)
  --tencent-port <p>    port of the fake Tencent API (default 4010); start the service with
                        TENCENT_API_BASE_URL=http://127.0.0.1:<p>. The fake checks signatures with
                        TENCENT_SECRET_ID, TENCENT_SECRET_KEY, TENCENT_APP_ID from the environment
`;

interface Flags {
  meetings: number;
  callers: number;
  rate: number;
  latency: number;
  failureRate: number;
  settle: number;
  url?: string;
  token?: string;
  webhookToken?: string;
  aesKey?: string;
  tencentPort: number;
}

class UsageError extends Error {}

function parseFlags(args: string[]): Flags | null {
  const { values } = parseArgs({
    args,
    options: {
      meetings: { type: 'string', default: '3' },
      callers: { type: 'string', default: '4' },
      rate: { type: 'string', default: '10' },
      latency: { type: 'string', default: '50' },
      'failure-rate': { type: 'string', default: '0.1' },
      settle: { type: 'string', default: '30' },
      url: { type: 'string' },
      token: { type: 'string' },
      'webhook-token': { type: 'string' },
      'aes-key': { type: 'string' },
      'tencent-port': { type: 'string', default: '4010' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const number = (name: keyof typeof values, min: number, max: number, integer = true) => {
    const value = Number(values[name]);
    if (
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    ) {
      throw new UsageError(
        `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
      );
    }
    return value;
  };
  return {
    meetings: number('meetings', 1, 100),
    callers: number('callers', 1, MAX_CALLERS),
    rate: number('rate', 0.1, 10_000, false),
    latency: number('latency', 0, 10_000),
    failureRate: number('failure-rate', 0, 1, false),
    settle: number('settle', 1, 3600, false),
    url: values.url,
    token: values.token,
    webhookToken: values['webhook-token'],
    aesKey: values['aes-key'],
    tencentPort: number('tencent-port', 1, 65_535),
  };
}

async function main(): Promise<number> {
  let flags: Flags | null;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (!flags) {
    console.log(HELP);
    return 0;
  }

  const started = Date.now();
  const log = (line: string) =>
    console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  const scenario = buildScenario({ meetings: flags.meetings, callers: flags.callers });
  log(
    `${plural(flags.meetings, 'meeting')}, ${plural(flags.callers, 'caller')} each, ${flags.rate} webhooks/s; ` +
      `Tencent answers in ${flags.latency} ms, ${Math.round(flags.failureRate * 100)}% of calls fail with a 5xx`,
  );

  const upstream = { latencyMs: flags.latency, failureRate: flags.failureRate };
  const environment: Environment = flags.url
    ? await useRunningService({
        ...upstream,
        url: flags.url,
        adminToken: flags.token,
        webhookToken: flags.webhookToken,
        aesKey: flags.aesKey,
        tencentPort: flags.tencentPort,
      })
    : await startOwnService(upstream);
  log(`fake Tencent Meeting API on ${environment.tencentUrl}`);
  log(environment.describe);

  let results;
  try {
    results = await play(scenario, {
      client: new ServiceClient(environment.target),
      tencent: environment.fake,
      eventsPerSecond: flags.rate,
      settleMs: flags.settle * 1000,
      log,
    });
  } finally {
    await environment.close();
  }

  const { fake, upstream: flaky } = environment;
  const { wrong, total } = countWrong(results);
  console.log(`\n${formatTable(results)}\n`);
  console.log(`${formatControlTable(results)}\n`);
  console.log(
    `Tencent: ${fake.requests.length} calls, ${flaky.failed} made to fail, ` +
      `${fake.rateLimitedCount} rate-limited, ${fake.badSignatureCount} badly signed`,
  );
  if (flags.url && fake.requests.length === 0) {
    console.log(
      `The service never called the fake Tencent: is its TENCENT_API_BASE_URL ${environment.tencentUrl}?`,
    );
  }
  const badlySigned = fake.badSignatureCount > 0;
  console.log(
    wrong === 0 && !badlySigned
      ? `All ${total} answers match the truth (${((Date.now() - started) / 1000).toFixed(1)} s).`
      : `${wrong} of ${total} answers are WRONG${badlySigned ? ', and some Tencent calls were badly signed' : ''}.`,
  );
  return wrong === 0 && !badlySigned ? 0 : 1;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
