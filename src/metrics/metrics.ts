import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Observes one finished request of a route: its method, status and duration. */
export type RequestTimer = (method: string, status: number, seconds: number) => void;

/**
 * The service's Prometheus metrics. Owners of a count increment it here; owners of a state
 * (queue depth, circuit, subscribers) register a gauge that reads it at scrape time.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly webhooks = new Counter({
    name: 'pstn_webhooks_total',
    help: 'Webhook deliveries by event and outcome (stored, or the error code answered)',
    labelNames: ['event', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly quarantined = new Counter({
    name: 'pstn_webhook_events_quarantined_total',
    help: 'Signed webhook events kept as text for an operator: undecodable, or not storable as jsonb',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly httpDuration = new Histogram({
    name: 'pstn_http_request_duration_seconds',
    help: 'Request latency by route (webhook intake, lookups, admin)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  readonly reconciliationRepairs = new Counter({
    name: 'pstn_reconciliation_repairs_total',
    help: "Changes made from Tencent's live roster that webhooks had missed, by kind (joined, left, ended)",
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly processingFailures = new Counter({
    name: 'pstn_event_processing_failures_total',
    help: 'Attempts at applying a webhook event that failed',
    registers: [this.registry],
  });

  readonly upstreamCalls = new Counter({
    name: 'pstn_upstream_calls_total',
    help: 'Attempts at Tencent REST calls by endpoint, purpose and outcome',
    labelNames: ['endpoint', 'purpose', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly controlActions = new Counter({
    name: 'pstn_control_actions_total',
    help: 'Results of actions on phone callers (one per caller acted on, or per target not connected) by action and outcome',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: 'pstn_upstream_call_duration_seconds',
    help: 'Latency of attempts at Tencent REST calls by endpoint and outcome',
    labelNames: ['endpoint', 'outcome'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  /**
   * Cache lookups counted since the last scrape. The lookup hot path adds to these plain numbers;
   * a labelled inc() hashes and validates its labels, which costs more than the rest of a hit.
   */
  readonly cacheLookups = { hit: 0, miss: 0, error: 0 };

  private readonly cacheLookupsCounter = new Counter({
    name: 'pstn_cache_lookups_total',
    help: 'Number lookups in the Redis cache by result (hit, miss, error)',
    labelNames: ['result'] as const,
    registers: [this.registry],
    collect: () => {
      for (const result of ['hit', 'miss', 'error'] as const) {
        this.cacheLookupsCounter.inc({ result }, this.cacheLookups[result]);
        this.cacheLookups[result] = 0;
      }
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pstn_' });
  }

  /**
   * Times the finished requests of one route pattern (never the path: it holds ids). The timer
   * keeps a labelled child per method and status, found without building a string: looking
   * labels up costs more than observing.
   */
  routeTimer(route: string): RequestTimer {
    const children = new Map<string, Map<number, { observe(seconds: number): void }>>();
    return (method, status, seconds) => {
      let byStatus = children.get(method);
      if (!byStatus) {
        byStatus = new Map();
        children.set(method, byStatus);
      }
      let child = byStatus.get(status);
      if (!child) {
        child = this.httpDuration.labels(method, route, String(status));
        byStatus.set(status, child);
      }
      child.observe(seconds);
    };
  }

  /** A gauge with one label, each of whose values is read when Prometheus scrapes. */
  labelledGauge(
    name: string,
    help: string,
    label: string,
    read: () => Record<string, number> | Promise<Record<string, number>>,
  ): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      async collect() {
        try {
          for (const [value, n] of Object.entries(await read())) this.set({ [label]: value }, n);
        } catch {
          // Kept as they were.
        }
      },
    });
  }

  /**
   * A gauge whose value is read when Prometheus scrapes. A read that fails (Postgres down, say)
   * leaves the last value: the scrape itself still answers.
   */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        try {
          this.set(await read());
        } catch {
          // Kept as it was.
        }
      },
    });
  }
}
