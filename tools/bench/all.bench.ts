import { failOn, saveResult } from './bench-kit';
import { runIntake } from './intake.bench';
import { runLookup } from './lookup.bench';
import { runResolve } from './resolve.bench';

interface Row {
  benchmark: string;
  service: string;
  baseline: string;
  ratio: number;
  target: string;
  met: boolean;
}

/**
 * The intake, lookup and resolve benchmarks with their baselines, one after the other (never
 * two at once: they share the machine's cores), then one table. Ratios are "higher is better":
 * service / baseline for throughput, baseline / service for latency.
 */
async function main(): Promise<void> {
  const intake = await runIntake();
  saveResult('intake', intake);
  const lookup = await runLookup();
  saveResult('lookup', lookup);
  const resolve = await runResolve();
  saveResult('resolve', resolve);

  const throughput = (figures: { requestsPerSecond: number; p99: number }) =>
    `${figures.requestsPerSecond} req/s, p99 ${figures.p99} ms`;
  const rows: Row[] = [
    {
      benchmark: 'webhook intake (vs bare Fastify + pg INSERT)',
      service: throughput(intake.service),
      baseline: throughput(intake.baseline),
      ratio: intake.ratio,
      target: '>= 1.0x',
      met: intake.ratio >= 1.0,
    },
    {
      benchmark: 'lookup, cache hits (vs bare Fastify + ioredis GET)',
      service: throughput(lookup.service),
      baseline: throughput(lookup.baseline),
      ratio: lookup.ratio,
      target: '>= 0.9x',
      met: lookup.ratio >= 0.9,
    },
    {
      benchmark: 'join -> resolved (vs one upstream call alone)',
      service: `p95 ${resolve.p95} ms (p50 ${resolve.p50}, ${resolve.resolved}/${resolve.callers})`,
      baseline: `p95 ${resolve.baselineP95} ms`,
      ratio: resolve.baselineP95 / resolve.p95,
      target: 'p95 <= 150 ms',
      met: resolve.p95 <= 150,
    },
  ];

  console.log('\n| benchmark | service | baseline | ratio | target | met? |');
  console.log('|---|---:|---:|---:|---|---|');
  for (const row of rows) {
    console.log(
      `| ${row.benchmark} | ${row.service} | ${row.baseline} | ${row.ratio.toFixed(2)}x | ${row.target} | ${row.met ? 'yes' : '**no**'} |`,
    );
  }
  failOn([...intake.problems, ...lookup.problems, ...resolve.problems]);
}

void main();
