// src/k8s/kubeconfig.ts: the light kubeconfig reader authenticates as client-node's KubeConfig
// would, and hands back what it does not read.
import { mkdtempSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { inClusterConfig, kubeConfigFromFile, loadKubeConfig } from '../../src/k8s/kubeconfig';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const file = join(dir, name);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': b64('CA'), ...cluster } }],
    users: [{ name: 'u', user }],
  };
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

async function applied(access: { applyToHTTPSOptions(o: https.RequestOptions): Promise<void> }): Promise<https.RequestOptions> {
  const o: https.RequestOptions = {};
  await access.applyToHTTPSOptions(o);
  return o;
}

t.test('a token user: bearer header, CA from data, server from the current context', async (t) => {
  const access = kubeConfigFromFile(kubeconfig('token.yaml', { token: 'abc' }));
  if (!access) throw new Error('expected the light reader to accept a token user');
  t.equal(access.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  const o = await applied(access);
  t.same(o.headers, { Authorization: 'Bearer abc' });
  t.equal(o.ca?.toString(), 'CA');
  t.ok(o.agent, 'an agent carrying the TLS options');
});

t.test('client certificate paths are relative to the kubeconfig file; insecure and server name apply', async (t) => {
  writeFileSync(join(dir, 'client.crt'), 'CERT');
  writeFileSync(join(dir, 'client.key'), 'KEY');
  const file = kubeconfig('cert.yaml', { 'client-certificate': 'client.crt', 'client-key': 'client.key' }, { 'insecure-skip-tls-verify': true, 'tls-server-name': 'api' });
  const o = await applied(loadKubeConfig(file));
  t.equal(o.cert?.toString(), 'CERT');
  t.equal(o.key?.toString(), 'KEY');
  t.equal(o.rejectUnauthorized, false);
  t.equal(o.servername, 'api');
});

t.test('basic auth becomes opts.auth, as client-node sets it', async (t) => {
  const o = await applied(loadKubeConfig(kubeconfig('basic.yaml', { username: 'admin', password: 'pw' })));
  t.equal(o.auth, 'admin:pw');
});

t.test('an auth-provider plugin is left to client-node', async (t) => {
  const file = kubeconfig('oidc.yaml', { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } });
  t.equal(kubeConfigFromFile(file), undefined);
  const access = loadKubeConfig(file);
  t.equal(access.getCurrentCluster()?.server, 'https://127.0.0.1:6443', 'client-node KubeConfig loaded on demand');
});

t.test('no current context is a usage error naming the file', async (t) => {
  const file = join(dir, 'empty.yaml');
  writeFileSync(file, 'apiVersion: v1\nkind: Config\n');
  t.throws(() => loadKubeConfig(file), { message: /no current cluster/ });
});

t.test('in-cluster: token file read at request time, IPv6 host bracketed, http on port 80', async (t) => {
  const sa = mkdtempSync(join(dir, 'sa-'));
  writeFileSync(join(sa, 'token'), 'sa-token');
  writeFileSync(join(sa, 'ca.crt'), 'SACA');
  const access = inClusterConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
  t.equal(access.getCurrentCluster()?.server, 'https://[fd00::1]:443');
  const o = await applied(access);
  t.same(o.headers, { Authorization: 'Bearer sa-token' });
  t.equal(o.ca?.toString(), 'SACA');
  t.equal(inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '80' }, sa).getCurrentCluster()?.server, 'http://10.0.0.1:80');
});
