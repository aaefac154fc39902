import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Env, validateEnv } from '../src/config/env.schema';
import { startTestStack, type TestStack } from './support/test-stack';

/**
 * deploy/ against the service it deploys: the manifests against the env schema and the routes,
 * the alert rules and the dashboard against what /metrics exports. The schema and the app are
 * read as they are now, so a setting or metric added or renamed later is checked too.
 */

const DEPLOY = join(__dirname, '..', 'deploy');
const KUBERNETES = join(DEPLOY, 'kubernetes');

/** The longest a request may be in flight: a drop-in lookup's wait_ms (0 to 30000). */
const LONGEST_REQUEST_SECONDS = 30;
/** The variables that hold credentials, or URLs that carry a password. */
const SECRET_KEYS = [
  'TENCENT_WEBHOOK_TOKEN',
  'TENCENT_WEBHOOK_AES_KEY',
  'TENCENT_SECRET_ID',
  'TENCENT_SECRET_KEY',
  'ADMIN_TOKEN',
  'DATABASE_URL',
  'REDIS_URL',
];

type Manifest = { apiVersion: string; kind: string; metadata: { name: string } } & Record<
  string,
  unknown
>;

/** Each kind deploy/ holds, with the Kubernetes schema its manifests are validated against. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 Secret': Secret,
  'v1 ConfigMap': ConfigMap,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1 Ingress': Ingress,
  'monitoring.coreos.com/v1 ServiceMonitor': ServiceMonitor,
};

function readYamlDocuments(path: string): Manifest[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.join('; ')}`);
    return doc.toJS() as Manifest;
  });
}

interface Kustomization {
  resources: string[];
  configMapGenerator: { name: string; envs: string[] }[];
}

const kustomization = parse(
  readFileSync(join(KUBERNETES, 'kustomization.yaml'), 'utf8'),
) as Kustomization;
const resources = kustomization.resources.flatMap((file) =>
  readYamlDocuments(join(KUBERNETES, file)),
);
const secretManifest = readYamlDocuments(join(KUBERNETES, 'secret.example.yaml'))[0] as Manifest & {
  stringData: Record<string, string>;
};
/**
 * An env file as kustomize reads it: KEY=value lines, blank and `#` lines skipped, the value
 * everything after the first `=` (no quotes or inline comments are taken out).
 */
function readEnvFile(path: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trimStart())) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`${path}: not KEY=value: ${line}`);
    data[line.slice(0, at)] = line.slice(at + 1);
  }
  return data;
}

/** What kustomize generates from config.env: the settings that are not secrets. */
const generated = kustomization.configMapGenerator.map((generator) => ({
  name: generator.name,
  data: Object.assign(
    {},
    ...generator.envs.map((file) => readEnvFile(join(KUBERNETES, file))),
  ) as Record<string, string>,
}));

function only<T extends Manifest>(kind: string): T {
  const found = resources.filter((manifest) => manifest.kind === kind);
  if (found.length !== 1) throw new Error(`kustomization.yaml has ${found.length} ${kind}s`);
  return found[0] as T;
}

const deployment = only<Manifest & { spec: DeploymentSpec }>('Deployment');
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0];
const configMapName = container.envFrom.find((from) => from.configMapRef)?.configMapRef?.name;
const config = generated.find((map) => map.name === configMapName)?.data ?? {};
const secret = secretManifest.stringData;
const ingress = readYamlDocuments(join(KUBERNETES, 'ingress.example.yaml'))[0] as Manifest & {
  spec: {
    rules: {
      http: {
        paths: {
          path: string;
          pathType: string;
          backend: { service: { name: string; port: { name: string } } };
        }[];
      };
    }[];
  };
};
const ingressPaths = ingress.spec.rules.flatMap((rule) => rule.http.paths);

interface Probe {
  httpGet: { path: string; port: string | number };
  periodSeconds: number;
  failureThreshold: number;
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: {
    metadata: { labels: Record<string, string> };
    spec: {
      terminationGracePeriodSeconds: number;
      containers: {
        ports: { name: string; containerPort: number }[];
        env?: { name: string }[];
        envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
        startupProbe: Probe;
        livenessProbe: Probe;
        readinessProbe: Probe;
        lifecycle: { preStop: { exec: { command: string[] } } };
        resources: { requests: { memory: string }; limits: { memory: string } };
      }[];
    };
  };
}

/** Kubernetes quantities as bytes ("384Mi"). */
function bytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|)$/.exec(quantity);
  if (!match) throw new Error(`unexpected quantity ${quantity}`);
  const units: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(match[1]) * units[match[2]];
}

/** The lines of validateEnv's refusal, without its heading. */
function refusal(raw: Record<string, string>): string[] {
  try {
    validateEnv(raw);
    return [];
  } catch (error) {
    return (error as Error).message.split('\n').slice(1);
  }
}

// The Prometheus rules and the dashboard's queries.

interface Rule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
  for?: string;
}
const rules = (
  parse(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8')) as {
    groups: { rules: Rule[] }[];
  }
).groups.flatMap((group) => group.rules);

/** Every query string of the dashboard: panel targets and template variable queries. */
function dashboardQueries(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((item) => dashboardQueries(item, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (['expr', 'query', 'definition'].includes(key) && typeof value === 'string') {
        found.push(value);
      } else dashboardQueries(value, found);
    }
  }
  return found;
}
const dashboard = JSON.parse(
  readFileSync(join(DEPLOY, 'grafana', 'pstn-tracker.json'), 'utf8'),
) as unknown;
const queries = [
  ...rules.map((rule) => ({ where: `alert ${rule.alert}`, query: rule.expr })),
  ...dashboardQueries(dashboard)
    .filter((query) => query !== 'prometheus')
    .map((query) => ({ where: 'dashboard', query })),
];

/** The service's metric names a query uses; label values (quoted) are no names. */
function metricNames(query: string): string[] {
  const unquoted = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(unquoted.match(/\bpstn_[a-z0-9_]+/g) ?? [])];
}

/** Each exported metric, by the names its samples carry (a histogram's _bucket, _count, _sum). */
function exportedNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const match of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match;
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(name + s);
    if (type === 'summary') for (const s of ['_count', '_sum']) names.add(name + s);
  }
  return names;
}

describe('deploy/kubernetes', () => {
  it('holds only manifests valid against their Kubernetes schemas', () => {
    const all = [
      ...resources,
      secretManifest,
      ingress,
      ...generated.map(({ name, data }) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data,
      })),
    ];
    for (const manifest of all) {
      const Model = MODELS[`${manifest.apiVersion} ${manifest.kind}`];
      expect(Model, `${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      expect(() => new Model(manifest as never).validate(), manifest.kind).not.toThrow();
    }
    for (const file of kustomization.resources)
      expect(existsSync(join(KUBERNETES, file))).toBe(true);
  });

  it('sets only variables of the env schema, every secret from the Secret', () => {
    const known = Object.keys(new Env());
    expect(container.env ?? [], 'settings belong in config.env or the Secret').toEqual([]);
    expect(container.envFrom).toEqual([
      { configMapRef: { name: configMapName } },
      { secretRef: { name: secretManifest.metadata.name } },
    ]);
    expect(generated.map((map) => map.name)).toEqual([configMapName]);
    for (const key of [...Object.keys(config), ...Object.keys(secret)]) {
      expect(known, `${key} is no setting of the service`).toContain(key);
    }
    expect(Object.keys(secret).sort()).toEqual([...SECRET_KEYS].sort());
    for (const key of SECRET_KEYS) expect(config, `${key} is a secret`).not.toHaveProperty(key);
  });

  it('provides every setting without a default', () => {
    const required = refusal({}).map((line) => line.trim().split(':')[0]);
    expect(required).toContain('ADMIN_TOKEN');
    const provided = { ...config, ...secret };
    for (const key of required) {
      expect(provided[key] ?? '', `${key} has no default`).not.toBe('');
    }
  });

  it('is refused at boot until its placeholder credentials are replaced, then valid', () => {
    const unedited = refusal({ ...config, ...secret });
    expect(unedited).toHaveLength(1);
    expect(unedited[0]).toMatch(/is the real Tencent API, but .*still hold the placeholders/);

    const filled = Object.fromEntries(
      Object.entries({ ...config, ...secret }).map(([key, value]) => [
        key,
        value.replace(/^dev-/, 'prod-'),
      ]),
    );
    expect(refusal(filled)).toEqual([]);
    const env = validateEnv(filled);
    expect(env.TRUST_PROXY).toBe(true);
    expect(env.SCHEDULER_ENABLED).toBe(true);
    expect(container.ports).toEqual([{ name: 'http', containerPort: env.PORT }]);
  });

  it('runs several replicas, drained before they stop, disrupted one at a time', () => {
    const env = validateEnv({ ...config, ...secret, TENCENT_API_BASE_URL: 'http://127.0.0.1:9' });
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.template.metadata.labels).toMatchObject(
      deployment.spec.selector.matchLabels,
    );

    const [sleep, seconds] = container.lifecycle.preStop.exec.command;
    expect(sleep).toBe('sleep');
    const pause = Number(seconds);
    expect(pause).toBeGreaterThanOrEqual(5);
    const longest = Math.max(LONGEST_REQUEST_SECONDS, env.HTTP_REQUEST_TIMEOUT_MS / 1000);
    // The pause, the longest request, and time for the worker and the jobs to finish.
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(pause + longest + 10);

    // A boot waits for Postgres up to DATABASE_CONNECT_TIMEOUT_SECONDS before it listens.
    const startup = container.startupProbe;
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThan(
      env.DATABASE_CONNECT_TIMEOUT_SECONDS,
    );
    for (const probe of [startup, container.livenessProbe, container.readinessProbe]) {
      expect(probe.httpGet.port).toBe('http');
    }
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');

    const pdb = only<Manifest & { spec: { maxUnavailable: number; selector: unknown } }>(
      'PodDisruptionBudget',
    );
    expect(pdb.spec.selector).toEqual(deployment.spec.selector);
    expect(pdb.spec.maxUnavailable).toBeLessThan(deployment.spec.replicas);

    const service = only<
      Manifest & {
        spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
      }
    >('Service');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports.map((port) => port.targetPort)).toEqual(['http']);

    const monitor = only<
      Manifest & {
        spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
      }
    >('ServiceMonitor');
    expect(service.metadata).toMatchObject({ labels: monitor.spec.selector.matchLabels });
    expect(monitor.spec.endpoints.map((endpoint) => endpoint.port)).toEqual(
      service.spec.ports.map((port) => port.name),
    );
  });

  it('exposes through the ingress only the webhook receiver and the lookup API', () => {
    const service = only<Manifest & { spec: { ports: { name: string }[] } }>('Service');
    for (const { backend } of ingressPaths) {
      expect(backend.service).toEqual({
        name: service.metadata.name,
        port: { name: service.spec.ports[0].name },
      });
    }
    for (const internal of ['/admin/stats', '/metrics', '/health/ready', '/docs']) {
      expect(
        ingressPaths.filter(({ path }) => internal.startsWith(path.replace(/\/$/, ''))),
        internal,
      ).toEqual([]);
    }
  });

  it('gives the memory the service holds room under its limit, and alerts before it', () => {
    const { requests, limits } = container.resources;
    // ~185 MB at most, measured with 100,000 mappings held and the 128 MB heap limit.
    expect(bytes(requests.memory)).toBeGreaterThanOrEqual(200 * 1000 ** 2);
    expect(bytes(limits.memory)).toBeGreaterThan(bytes(requests.memory));
    const memory = rules.find((rule) => rule.alert === 'PstnMemoryHigh');
    const threshold = /> (\d+) \* 1024 \* 1024$/.exec(memory?.expr ?? '');
    expect(threshold).not.toBeNull();
    expect(Number(threshold?.[1]) * 1024 ** 2).toBeLessThan(bytes(limits.memory));
  });
});

describe('deploy/prometheus', () => {
  it('gives every alert a severity, a summary and a description that says where to look', () => {
    for (const rule of rules) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.description.length, rule.alert).toBeGreaterThan(80);
    }
  });

  it('sets the thresholds that follow a setting from the deployed value', () => {
    const env = validateEnv({
      ...config,
      ...secret,
      TENCENT_API_BASE_URL: 'http://127.0.0.1:9',
    });
    const expr = (alert: string) => rules.find((rule) => rule.alert === alert)?.expr;
    expect(expr('PstnSseSubscribersNearCap')).toBe(
      `pstn_sse_subscribers > 0.8 * ${env.SSE_MAX_STREAMS}`,
    );
    expect(expr('PstnUpstreamBudgetNearlySpent')).toMatch(
      new RegExp(`< 0\\.1 \\* ${env.TENCENT_RATE_LIMIT_PER_MINUTE}$`),
    );
    // prometheus-operator names the scrape job after the Service.
    expect(expr('PstnTrackerDown')).toBe(`up{job="${only('Service').metadata.name}"} == 0`);
  });
});

describe('deploy/ against a running service', () => {
  let stack: TestStack;
  let metricsText: string;

  beforeAll(async () => {
    stack = await startTestStack();
    const res = await request(stack.t.app.getHttpServer()).get('/metrics');
    expect(res.status).toBe(200);
    metricsText = res.text;
  });

  afterAll(() => stack?.close());

  it('answers the probes and the scrape on the paths the manifests name', async () => {
    const monitor = only<Manifest & { spec: { endpoints: { path: string }[] } }>('ServiceMonitor');
    const paths = [
      container.startupProbe.httpGet.path,
      container.livenessProbe.httpGet.path,
      container.readinessProbe.httpGet.path,
      ...monitor.spec.endpoints.map((endpoint) => endpoint.path),
    ];
    expect(paths).toContain('/metrics');
    for (const path of new Set(paths)) {
      const res = await request(stack.t.app.getHttpServer()).get(path);
      expect(res.status, path).toBe(200);
    }
  });

  it('exports every metric the alert rules and the dashboard query', () => {
    const exported = exportedNames(metricsText);
    const used = queries.flatMap(({ where, query }) =>
      metricNames(query).map((name) => ({ where, name })),
    );
    expect(used.length).toBeGreaterThan(30);
    expect(used.filter(({ name }) => !exported.has(name))).toEqual([]);
    // Each alert rule but the scrape's own watches something the service exports.
    for (const rule of rules.filter((rule) => rule.alert !== 'PstnTrackerDown')) {
      expect(metricNames(rule.expr).length, rule.alert).toBeGreaterThan(0);
    }
  });

  it('sends the ingress exact paths to routes the service serves', () => {
    const fastify = stack.t.app.getHttpAdapter().getInstance();
    const exact = ingressPaths.filter(({ pathType }) => pathType === 'Exact');
    expect(exact.length).toBeGreaterThan(0);
    for (const { path } of exact) {
      expect(fastify.hasRoute({ method: 'POST', url: path }), path).toBe(true);
    }
  });

  it('names only routes the service serves in its route labels', () => {
    const fastify = stack.t.app.getHttpAdapter().getInstance();
    const routes = queries.flatMap(({ where, query }) =>
      [...query.matchAll(/\broute!?="([^"]*)"/g)].map((match) => ({ where, route: match[1] })),
    );
    expect(routes.length).toBeGreaterThan(0);
    const unknown = routes.filter(
      ({ route }) =>
        !['GET', 'POST', 'PUT', 'DELETE'].some((method) =>
          fastify.hasRoute({ method, url: route }),
        ),
    );
    expect(unknown).toEqual([]);
  });
});
