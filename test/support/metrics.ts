/**
 * The sum of a Prometheus text's samples of `name` whose labels include every pair of
 * `labels`; 0 when there is none (a counter never incremented has no sample yet).
 */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => (match[2] ?? '').includes(`${k}="${v}"`));
    if (has) sum += Number(match[3]);
  }
  return sum;
}

/** Reads one metric from a service's /metrics. */
export async function scrapeMetric(
  baseUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return metricValue(await res.text(), name, labels);
}
