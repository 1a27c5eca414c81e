/**
 * The HTTP endpoint of both processes: `/metrics` (Prometheus text from the injected registry),
 * `/healthz` (the process is alive and its loops turn) and `/readyz` (what "ready" means is the
 * caller's: for the controller, informers synced and existing assignments adopted; for a
 * speaker, a valid configuration applied). The chart points the liveness and readiness probes at
 * this port (charts/metallb-ts/templates/controller.yaml and speaker.yaml).
 * With `--metrics-cert-dir` it serves HTTPS with `tls.crt`/`tls.key` from that directory, as
 * upstream does; upstream's TokenReview/SubjectAccessReview filter is not reproduced.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SecureVersion } from 'node:tls';
import type { Registry } from 'prom-client';
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';

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
}

/** A listening endpoint. */
export interface HttpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

function tlsVersion(v: string | undefined): SecureVersion {
  return v === 'VersionTLS12' ? 'TLSv1.2' : 'TLSv1.3';
}

/** Start serving; resolves once listening. */
export async function startHttpEndpoint(opts: HttpEndpointOptions): Promise<HttpEndpoint> {
  const handler: http.RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const probe = (r: ProbeResult): void => {
      res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(r.ok ? 'ok\n' : `${r.reason}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz' || path === '/livez') return probe(opts.healthy());
    if (path === '/readyz') return probe(opts.ready());
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': opts.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500).end(errorMessage(err));
        },
      );
      return;
    }
    res.writeHead(404).end();
  };
  const server = opts.certDir
    ? https.createServer(
        { cert: readFileSync(join(opts.certDir, 'tls.crt')), key: readFileSync(join(opts.certDir, 'tls.key')), minVersion: tlsVersion(opts.tlsMinVersion) },
        handler,
      )
    : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  opts.log.info({ event: 'httpListening', port, tls: Boolean(opts.certDir) }, 'serving /metrics, /healthz and /readyz');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** The flags both processes take for their endpoint (`--port`, `--host`, the TLS pair). */
export interface EndpointFlags {
  readonly port: number;
  readonly host: string | undefined;
  readonly metricsCertDir: string | undefined;
  readonly tlsMinVersion: string | undefined;
}

/**
 * Start a process's endpoint from its flags, probes answered by its loop; undefined when
 * `--port 0` turns it off.
 */
export async function startProcessEndpoint(
  flags: EndpointFlags,
  deps: { registry: Registry; log: Logger; loop: { healthy(): ProbeResult; ready(): ProbeResult } },
): Promise<HttpEndpoint | undefined> {
  if (flags.port <= 0) return undefined;
  return startHttpEndpoint({
    port: flags.port,
    ...(flags.host === undefined ? {} : { host: flags.host }),
    registry: deps.registry,
    log: deps.log,
    healthy: () => deps.loop.healthy(),
    ready: () => deps.loop.ready(),
    ...(flags.metricsCertDir ? { certDir: flags.metricsCertDir } : {}),
    ...(flags.tlsMinVersion ? { tlsMinVersion: flags.tlsMinVersion } : {}),
  });
}
