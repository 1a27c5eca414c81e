// Secure metrics against a real apiserver, as upstream 0.14+ serves them: the controller runs with
// the chart's ServiceAccount and RBAC (rendered with the default values), serves /metrics over
// HTTPS with the certificate the chart generates, and authenticates (TokenReview) and authorises
// (SubjectAccessReview, get on /metrics) each scrape. A token with the grant scrapes (200), one
// without gets 403, no token or a garbage token 401; the probes answer plain HTTP on their port.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { freePort } from '../harness/free-port';
import { render } from '../fixtures/chart/helm';
import { RELEASE_NS, installCrds, until } from '../fixtures/controller/cluster';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { silentLogger } from '../../src/util/log';

function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
  });
}

t.test('secure metrics: 200 with the grant, 403 without, 401 without a valid token', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp);
  t.teardown(() => client.close());

  // The chart's RBAC, ServiceAccounts and generated certificate, as installed.
  const docs = await render({ set: ['prometheus.serviceMonitor.enabled=true', 'prometheus.serviceAccount=prometheus-k8s', 'prometheus.namespace=monitoring'] });
  const kinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Secret']);
  const objs = docs.filter((d) => kinds.has(d.kind));
  t.ok(objs.some((d) => d.kind === 'ClusterRole' && d.metadata.name === 'metallb:prometheus-metrics'), 'the chart grants Prometheus get on /metrics');
  for (const ns of ['monitoring', 'apps']) await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: ns } } });
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: objs.map((o) => JSON.stringify(o)).join('\n') });
  t.equal(applied.code, 0, `chart objects applied ${applied.stderr}`);

  const secret = docs.find((d) => d.kind === 'Secret' && d.metadata.name === 'metallb-metrics-cert') as { data: Record<string, string> } | undefined;
  if (!secret) throw new Error('the chart rendered no metallb-metrics-cert Secret');
  const certDir = mkdtempSync(join(tmpdir(), 'mlb-metrics-cert-'));
  t.teardown(() => rmSync(certDir, { recursive: true, force: true }));
  for (const f of ['tls.crt', 'tls.key']) writeFileSync(join(certDir, f), Buffer.from(secret.data[f]!, 'base64'));
  t.match(execFileSync('openssl', ['x509', '-in', join(certDir, 'tls.crt'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' }), /DNS:metallb-controller-monitor-service\.metallb-system\.svc/);

  const controllerCreds = await cp.clientFor(RELEASE_NS, 'metallb-controller');
  const [port, probePort] = [await freePort(), await freePort()];
  const opts = controllerOptionsFrom({
    kubeconfig: controllerCreds.kubeconfigPath,
    namespace: RELEASE_NS,
    port,
    host: '127.0.0.1',
    podName: '',
    secureMetrics: true,
    metricsCertDir: certDir,
    healthProbePort: probePort,
  });
  const ctrl = await startController(opts, silentLogger());
  t.teardown(() => ctrl.stop());
  await until('readyz ok on the probe port', 30_000, async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200);
  t.equal((await fetch(`http://127.0.0.1:${probePort}/healthz`)).status, 200, '/healthz: plain HTTP on the probe port, no token');

  const tokenOf = async (ns: string, sa: string): Promise<string> => {
    const token = (await cp.clientFor(ns, sa)).kubeConfig.getCurrentUser()?.token;
    if (!token) throw new Error(`no token for ${ns}/${sa}`);
    return token;
  };
  const prometheus = await tokenOf('monitoring', 'prometheus-k8s');
  const other = await tokenOf('apps', 'web');
  const url = `https://127.0.0.1:${port}/metrics`;

  const ok = await get(url, prometheus);
  t.equal(ok.status, 200, 'a ServiceAccount with get on /metrics scrapes');
  t.match(ok.body, /metallb_k8s_client_config_loaded_bool/, 'and gets the metrics');
  const denied = await get(url, other);
  t.equal(denied.status, 403, 'a ServiceAccount without the grant: 403');
  t.match(denied.body, /Authorization denied for user system:serviceaccount:apps:web/);
  t.notMatch(denied.body, /metallb_/, 'no metrics in a refusal');
  t.equal((await get(url)).status, 401, 'no token: 401');
  t.equal((await get(url, 'garbage')).status, 401, 'garbage token: 401');
  t.equal((await get(url, `${prometheus.slice(0, -4)}AAAA`)).status, 401, 'a token with a forged signature: 401');
  t.equal((await get(`https://127.0.0.1:${port}/healthz`, prometheus)).status, 404, 'the probes are not on the metrics port');

  // Repeated scrapes within the TTL are answered from the cache (test/k8s/metrics-auth.test.ts counts the reviews).
  t.equal((await get(url, prometheus)).status, 200, 'a second scrape answers from the cache');
  t.equal((await get(url, other)).status, 403, 'and so does a second refusal');
});
