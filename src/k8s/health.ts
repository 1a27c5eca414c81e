/**
 * The HTTP endpoints of both processes: `/metrics` (Prometheus text from the injected registry),
 * `/healthz` (the process is alive and its loops turn) and `/readyz` (what "ready" means is the
 * caller's: for the controller, informers synced and existing assignments adopted; for a
 * speaker, a valid configuration applied).
 *
 * As upstream 0.14+: with `--secure-metrics`, `/metrics` is HTTPS and every scrape is
 * authenticated and authorised against the apiserver (./metrics-auth.ts), and the probes are
 * served apart, in plain HTTP on `--health-probe-port` (charts/metallb-ts/templates/
 * controller.yaml and speaker.yaml point the kubelet there). Without a probe port they share the
 * metrics port, unauthenticated, as before. `--metrics-cert-dir` alone serves HTTPS with
 * `tls.crt`/`tls.key` from that directory and no authentication.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SecureVersion } from 'node:tls';
import type { Registry } from 'prom-client';
import type { Logger } from '../util/log';
import { ErrorCode, errorMessage, MetalLbError } from '../util/errors';
import { realClock } from '../util/clock';
import type { KubeClient } from './client';
import { AccessKind, createMetricsAuthorizer, kubeReviews, type AccessDecision, type MetricsAuthorizer } from './metrics-auth';

/** A probe answer: ok, or why not. */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Options of {@link startHttpEndpoint}. */
export interface HttpEndpointOptions {
  readonly port: number;
  readonly host?: string;
  readonly registry: Registry;
  readonly log: Logger;
  readonly healthy: () => ProbeResult;
  readonly ready: () => ProbeResult;
  /** Directory holding `tls.crt` and `tls.key`: serve HTTPS. */
  readonly certDir?: string;
  /** `VersionTLS12` or `VersionTLS13` (upstream's flag values). */
  readonly tlsMinVersion?: string;
  /** Decide every `/metrics` request with it (secure metrics); absent: anyone may scrape. */
  readonly authorizer?: MetricsAuthorizer;
  /** Answer `/healthz` and `/readyz` here too (default true; false when a probe port serves them). */
  readonly probes?: boolean;
}

/** Options of {@link startProbeEndpoint}. */
export interface ProbeEndpointOptions {
  readonly port: number;
  readonly host?: string;
  readonly log: Logger;
  readonly healthy: () => ProbeResult;
  readonly ready: () => ProbeResult;
}

/** A listening endpoint. */
export interface HttpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

function tlsVersion(v: string | undefined): SecureVersion {
  return v === 'VersionTLS12' ? 'TLSv1.2' : 'TLSv1.3';
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** GET and HEAD only; unknown paths 404. */
function router(routes: ReadonlyMap<string, Route>): http.RequestListener {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const route = routes.get((req.url ?? '/').split('?')[0] ?? '/');
    if (route) route(req, res);
    else res.writeHead(404).end();
  };
}

function probeRoutes(opts: { healthy: () => ProbeResult; ready: () => ProbeResult }): Array<[string, Route]> {
  const probe =
    (check: () => ProbeResult): Route =>
    (_req, res) => {
      const r = check();
      res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(r.ok ? 'ok\n' : `${r.reason}\n`);
    };
  return [
    ['/healthz', probe(opts.healthy)],
    ['/livez', probe(opts.healthy)],
    ['/readyz', probe(opts.ready)],
  ];
}

/** Status and body for a decision other than allowed; the messages are controller-runtime's. */
function refusal(d: Exclude<AccessDecision, { kind: typeof AccessKind.Allowed }>): { status: number; body: string; headers?: Record<string, string> } {
  switch (d.kind) {
    case AccessKind.Unauthenticated:
      return { status: 401, body: 'Unauthorized', headers: { 'WWW-Authenticate': 'Bearer' } };
    case AccessKind.Forbidden:
      return { status: 403, body: `Authorization denied for user ${d.user}` };
    case AccessKind.Failed:
      return { status: 500, body: `Authorization for user ${d.user} failed` };
    case AccessKind.Busy:
      return { status: 429, body: 'Too many token reviews in flight', headers: { 'Retry-After': '1' } };
  }
}

function metricsRoute(opts: HttpEndpointOptions): Route {
  const serve = (res: http.ServerResponse): void => {
    opts.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': opts.registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500).end(errorMessage(err));
      },
    );
  };
  const authorizer = opts.authorizer;
  if (!authorizer) return (_req, res) => serve(res);
  return (req, res) => {
    void authorizer.check(req.headers.authorization).then((d) => {
      if (d.kind === AccessKind.Allowed) return serve(res);
      const r = refusal(d);
      opts.log.debug({ event: 'metricsRefused', decision: d.kind, ...('user' in d ? { user: d.user } : {}), ...('reason' in d ? { reason: d.reason } : {}) }, 'metrics request refused');
      res.writeHead(r.status, { 'Content-Type': 'text/plain', ...r.headers }).end(`${r.body}\n`);
    });
  };
}

async function listen(server: http.Server, port: number, host: string | undefined): Promise<HttpEndpoint> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** Start serving `/metrics` (and the probes unless told otherwise); resolves once listening. */
export async function startHttpEndpoint(opts: HttpEndpointOptions): Promise<HttpEndpoint> {
  const routes = new Map<string, Route>([['/metrics', metricsRoute(opts)], ...(opts.probes === false ? [] : probeRoutes(opts))]);
  const handler = router(routes);
  const server = opts.certDir
    ? https.createServer(
        { cert: readFileSync(join(opts.certDir, 'tls.crt')), key: readFileSync(join(opts.certDir, 'tls.key')), minVersion: tlsVersion(opts.tlsMinVersion) },
        handler,
      )
    : http.createServer(handler);
  const endpoint = await listen(server, opts.port, opts.host);
  opts.log.info(
    { event: 'httpListening', port: endpoint.port, tls: Boolean(opts.certDir), authenticated: Boolean(opts.authorizer), probes: opts.probes !== false },
    opts.probes === false ? 'serving /metrics' : 'serving /metrics, /healthz and /readyz',
  );
  return endpoint;
}

/** Start the plain-HTTP probe endpoint (`/healthz`, `/readyz`), as upstream's health-probe port. */
export async function startProbeEndpoint(opts: ProbeEndpointOptions): Promise<HttpEndpoint> {
  const endpoint = await listen(http.createServer(router(new Map(probeRoutes(opts)))), opts.port, opts.host);
  opts.log.info({ event: 'probesListening', port: endpoint.port }, 'serving /healthz and /readyz');
  return endpoint;
}

/** The flags both processes take for their endpoints. */
export interface EndpointFlags {
  /** Metrics port; 0 turns metrics off. */
  readonly port: number;
  readonly host: string | undefined;
  readonly metricsCertDir: string | undefined;
  readonly tlsMinVersion: string | undefined;
  /** Authenticate and authorise every scrape (needs `metricsCertDir`). */
  readonly secureMetrics: boolean;
  /** Plain-HTTP probe port; 0 (or `port`): the probes share the metrics port. */
  readonly healthProbePort: number;
}

/** The endpoints of a process. */
export interface ProcessEndpoints {
  /** Metrics port (0 when off). */
  readonly port: number;
  /** Where the probes are answered (0 when nowhere). */
  readonly probePort: number;
  close(): Promise<void>;
}

/**
 * Start a process's endpoints from its flags, probes answered by its loop; undefined when
 * `--port 0` turns metrics off and no probe port is set.
 */
export async function startProcessEndpoint(
  flags: EndpointFlags,
  deps: { registry: Registry; log: Logger; loop: { healthy(): ProbeResult; ready(): ProbeResult }; client: KubeClient; now?: () => number },
): Promise<ProcessEndpoints | undefined> {
  const probes = { healthy: () => deps.loop.healthy(), ready: () => deps.loop.ready() };
  const host = flags.host === undefined ? {} : { host: flags.host };
  const separateProbes = flags.healthProbePort > 0 && flags.healthProbePort !== flags.port;
  const metrics =
    flags.port > 0
      ? await startHttpEndpoint({
          port: flags.port,
          ...host,
          registry: deps.registry,
          log: deps.log,
          ...probes,
          probes: !separateProbes,
          ...(flags.metricsCertDir ? { certDir: flags.metricsCertDir } : {}),
          ...(flags.tlsMinVersion ? { tlsMinVersion: flags.tlsMinVersion } : {}),
          ...(flags.secureMetrics ? { authorizer: createMetricsAuthorizer({ reviews: kubeReviews(deps.client), now: deps.now ?? realClock.now }) } : {}),
        })
      : undefined;
  let probeEndpoint: HttpEndpoint | undefined;
  try {
    probeEndpoint = separateProbes ? await startProbeEndpoint({ port: flags.healthProbePort, ...host, log: deps.log, ...probes }) : undefined;
  } catch (err) {
    await metrics?.close();
    throw err;
  }
  if (!metrics && !probeEndpoint) return undefined;
  return {
    port: metrics?.port ?? 0,
    probePort: probeEndpoint?.port ?? (separateProbes ? 0 : metrics?.port ?? 0),
    close: async () => {
      await Promise.all([metrics?.close(), probeEndpoint?.close()]);
    },
  };
}

/**
 * `--secure-metrics` and `--health-probe-port` from parsed flags. Node.js cannot create an X.509
 * certificate, so unlike controller-runtime there is no self-signed fallback: secure metrics
 * need `--metrics-cert-dir` (the chart generates a certificate into a Secret when none is given).
 */
export function metricsSecurity(flags: Record<string, unknown>): { secureMetrics: boolean; healthProbePort: number } {
  const secureMetrics = flags.secureMetrics === true;
  if (secureMetrics && !(typeof flags.metricsCertDir === 'string' && flags.metricsCertDir)) {
    throw new MetalLbError(ErrorCode.Usage, '--secure-metrics needs --metrics-cert-dir (a directory with tls.crt and tls.key)', { flag: 'secure-metrics' });
  }
  const raw = flags.healthProbePort ?? 0;
  const healthProbePort = Number(raw);
  if (!Number.isInteger(healthProbePort) || healthProbePort < 0 || healthProbePort > 65535) {
    throw new MetalLbError(ErrorCode.Usage, `--health-probe-port: invalid value ${JSON.stringify(raw)}`, { flag: 'health-probe-port', value: raw });
  }
  return { secureMetrics, healthProbePort };
}
