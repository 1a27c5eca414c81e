// The endpoints' HTTP answers with secure metrics, from a scripted apiserver client: status codes
// and bodies per decision, the probes on their own plain-HTTP port and not on the metrics one.
// The certificate is made with openssl here (test only; the chart makes the real one).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import t from 'tap';
import type { ApiRequest, KubeClient } from '../../src/k8s/client';
import { startProcessEndpoint, type EndpointFlags } from '../../src/k8s/health';
import { silentLogger } from '../../src/util/log';
import { freePort } from '../harness/free-port';

/** TokenReview: token "ok-<user>" authenticates <user>; SAR: only "prom" may get /metrics; "boom" fails the SAR. */
function scriptedClient(log: ApiRequest[]): KubeClient {
  return {
    request: async <T>(req: ApiRequest): Promise<T> => {
      log.push(req);
      const spec = (req.body as { spec: Record<string, unknown> }).spec;
      if (req.path.endsWith('/tokenreviews')) {
        const token = spec['token'] as string;
        return (token.startsWith('ok-') ? { status: { authenticated: true, user: { username: token.slice(3), groups: ['g'] } } } : { status: { authenticated: false, error: 'invalid' } }) as T;
      }
      if (spec['user'] === 'boom') throw new Error('apiserver down');
      return { status: { allowed: spec['user'] === 'prom' } } as T;
    },
  } as unknown as KubeClient;
}

function get(port: number, path: string, token?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

t.test('secure metrics: 200 / 401 / 403 / 500, probes apart in plain HTTP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-health-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-subj', '/CN=test', '-days', '1'], { stdio: 'ignore' });
  const registry = new Registry();
  const requests: ApiRequest[] = [];
  const flags: EndpointFlags = { port: await freePort(), host: '127.0.0.1', metricsCertDir: dir, tlsMinVersion: undefined, secureMetrics: true, healthProbePort: await freePort() };
  const ep = await startProcessEndpoint(flags, {
    registry,
    log: silentLogger(),
    loop: { healthy: () => ({ ok: true }), ready: () => ({ ok: false, reason: 'informers not synced' }) },
    client: scriptedClient(requests),
  });
  if (!ep) throw new Error('no endpoint');
  t.teardown(() => ep.close());
  t.equal(ep.probePort, flags.healthProbePort);

  t.equal((await get(ep.port, '/metrics', 'ok-prom')).status, 200);
  const denied = await get(ep.port, '/metrics', 'ok-web');
  t.same([denied.status, denied.body], [403, 'Authorization denied for user web\n']);
  const none = await get(ep.port, '/metrics');
  t.same([none.status, none.headers['www-authenticate']], [401, 'Bearer']);
  t.equal((await get(ep.port, '/metrics', 'nope')).status, 401);
  const failed = await get(ep.port, '/metrics', 'ok-boom');
  t.same([failed.status, failed.body], [500, 'Authorization for user boom failed\n'], 'a failed SubjectAccessReview is 500, as controller-runtime');
  t.equal((await get(ep.port, '/healthz')).status, 404, 'no probes on the metrics port');
  t.match(requests[1], { path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body: { spec: { user: 'prom', groups: ['g'], nonResourceAttributes: { path: '/metrics', verb: 'get' } } } });

  const probe = async (path: string): Promise<[number, string]> => {
    const r = await fetch(`http://127.0.0.1:${ep.probePort}${path}`);
    return [r.status, await r.text()];
  };
  t.same(await probe('/healthz'), [200, 'ok\n']);
  t.same(await probe('/readyz'), [503, 'informers not synced\n']);
  t.same((await probe('/metrics'))[0], 404, 'no metrics on the probe port');
});

t.test('--port 0 with a probe port serves the probes only; neither serves nothing', async (t) => {
  const deps = { registry: new Registry(), log: silentLogger(), loop: { healthy: () => ({ ok: true }) as const, ready: () => ({ ok: true }) as const }, client: scriptedClient([]) };
  const base = { host: '127.0.0.1', metricsCertDir: undefined, tlsMinVersion: undefined, secureMetrics: false };
  const probeOnly = await startProcessEndpoint({ ...base, port: 0, healthProbePort: await freePort() }, deps);
  if (!probeOnly) throw new Error('no endpoint');
  t.teardown(() => probeOnly.close());
  t.equal(probeOnly.port, 0);
  t.equal((await fetch(`http://127.0.0.1:${probeOnly.probePort}/healthz`)).status, 200);
  t.equal(await startProcessEndpoint({ ...base, port: 0, healthProbePort: 0 }, deps), undefined);
  const same = await freePort();
  const shared = await startProcessEndpoint({ ...base, port: same, healthProbePort: same }, deps);
  if (!shared) throw new Error('no endpoint');
  t.teardown(() => shared.close());
  t.equal(shared.probePort, same, 'a probe port equal to --port: one listener serves both');
  t.equal((await fetch(`http://127.0.0.1:${same}/readyz`)).status, 200);
  t.equal((await fetch(`http://127.0.0.1:${same}/metrics`)).status, 200, 'plain metrics, no token');
});
