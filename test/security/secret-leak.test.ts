/**
 * MD5 passwords and Secret contents never leave the Secret (docs/security.md). A full run: control
 * plane, controller (debug logs, metrics over HTTPS), two speakers (debug logs, metrics), FRR
 * requiring TCP-MD5 from each node, a BGPPeer whose password comes from a basic-auth Secret, an
 * unrelated Secret in the release namespace, and a Service announced over L2 and BGP. Once the
 * MD5 sessions are Established (so the key was really read and used), every process log, every
 * Event, every metallb.io object (ConfigurationState and status objects included), Services,
 * Leases and the /metrics output of every process are scanned for the secret strings, plain and
 * base64.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startCluster, RELEASE_NAMESPACE } from '../harness/cluster';
import { freePort } from '../harness/free-port';
import { waitFor } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import { labConfig, objectMeta, passwordSecret, toYaml } from '../fixtures/manifests/metallb-config';

const PASSWORD = `md5-${randomBytes(8).toString('hex')}`;
const OTHER = `unrelated-${randomBytes(8).toString('hex')}`;
const SPEAKER_METRICS_PORT = 9131;

function selfSignedCert(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '1', '-subj', '/CN=metallb-ts-test'], { stdio: 'ignore' });
  return dir;
}

const CONFIG = toYaml([
  passwordSecret('bgp-auth', PASSWORD),
  { apiVersion: 'v1', kind: 'Secret', metadata: objectMeta('unrelated'), stringData: { token: OTHER } },
  // Advertisements of every pool, and the router's peer keyed by the Secret.
  ...labConfig({
    addresses: ['10.77.0.100-10.77.0.110'],
    everyPool: true,
    bgp: {},
    peer: { holdTime: '9s', passwordSecret: { name: 'bgp-auth', namespace: RELEASE_NAMESPACE } },
  }),
]);

t.test('the MD5 password and Secret contents appear in no output', async (t) => {
  const certDir = selfSignedCert(t);
  const ctlPort = await freePort();
  const c = await startCluster(t, {
    nodes: 2,
    client: true,
    speakerArgs: ['--l2-renew-interval', '2s', '--l2-lease-duration', '6s', '--port', String(SPEAKER_METRICS_PORT)],
    controllerArgs: ['--port', String(ctlPort), '--host', '127.0.0.1', '--metrics-cert-dir', certDir, '--tls-min-version', 'VersionTLS12'],
  });
  const frr = await startFrr(c.lab, {
    asn: 64501,
    routerId: c.lab.router.ipv4,
    neighbors: c.lab.nodes.map((n) => ({ address: n.ipv4, remoteAs: 64500, password: PASSWORD, passive: true, families: ['ipv4'] as const })),
    zebra: false,
  });
  t.teardown(() => frr.stop());
  await c.apply(CONFIG);
  await c.startController();
  for (const n of c.lab.nodes) await c.startSpeaker(n.index);
  await c.core.createNamespace({ body: { metadata: { name: 'demo' } } });
  await c.core.createNamespacedService({ namespace: 'demo', body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 8080, protocol: 'TCP' }], selector: { app: 'web' } } } });
  await c.setEndpoints('demo', 'web', c.lab.nodes.map((n) => n.name));
  const [ip] = await c.waitForIngress('demo', 'web', 60_000);
  for (const n of c.lab.nodes) await frr.waitEstablished(n.ipv4, 90_000);
  await frr.waitRoute(`${ip}/32`, (paths) => paths.length === c.lab.nodes.length, 60_000);
  t.pass(`MD5 sessions Established from every node with the Secret's password; ${ip} announced`);
  // Status objects and events are written shortly after announcing: wait for them.
  await waitFor('ServiceL2Status and ServiceBGPStatus objects', async () => {
    const r = await c.cp.kubectl(['get', 'servicel2statuses.metallb.io,servicebgpstatuses.metallb.io', '-A', '-o', 'name']);
    return r.stdout.includes('servicel2status') && r.stdout.includes('servicebgpstatus');
  }, { timeoutMs: 30_000 });

  const needles = [PASSWORD, OTHER, Buffer.from(PASSWORD).toString('base64'), Buffer.from(OTHER).toString('base64')];
  const outputs: Array<{ what: string; text: string }> = [];
  for (const f of readdirSync(c.lab.dir).filter((f) => /^(speaker|controller)-.*\.log$/.test(f))) outputs.push({ what: `log ${f}`, text: readFileSync(join(c.lab.dir, f), 'utf8') });
  t.ok(outputs.length >= 3, 'controller and speaker logs found');
  t.ok(outputs.some((o) => o.what.includes('speaker') && o.text.includes('"level":20')), 'speakers logged at debug level');
  const kubectlJson = async (args: string[]): Promise<string> => {
    const r = await c.cp.kubectl([...args, '-o', 'json']);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  outputs.push({ what: 'events', text: await kubectlJson(['get', 'events', '-A']) });
  t.match(outputs[outputs.length - 1]!.text, /nodeAssigned|IPAllocated/, 'Events were written');
  const crds = (await c.cp.kubectl(['get', 'crd', '-o', 'jsonpath={range .items[?(@.spec.group=="metallb.io")]}{.metadata.name}{"\\n"}{end}'])).stdout.trim().split('\n').filter(Boolean);
  t.ok(crds.length >= 8, `metallb.io CRDs: ${crds.join(', ')}`);
  for (const crd of crds) outputs.push({ what: crd, text: await kubectlJson(['get', crd, '-A']) });
  t.match(outputs.find((o) => o.what.startsWith('configurationstates'))?.text ?? '', /ConfigurationState/, 'a ConfigurationState was written');
  outputs.push({ what: 'services', text: await kubectlJson(['get', 'services', '-A']) });
  outputs.push({ what: 'leases', text: await kubectlJson(['get', 'leases', '-A']) });
  const ctlMetrics = execFileSync('curl', ['-sk', '--tlsv1.2', '--tls-max', '1.2', `https://127.0.0.1:${ctlPort}/metrics`], { encoding: 'utf8' });
  t.match(ctlMetrics, /metallb_/, 'controller /metrics over HTTPS to a TLS 1.2 client (--tls-min-version VersionTLS12)');
  outputs.push({ what: 'controller /metrics', text: ctlMetrics });
  for (const n of c.lab.nodes) {
    const m = await c.lab.run(n.ns, ['curl', '-s', `http://127.0.0.1:${SPEAKER_METRICS_PORT}/metrics`]);
    t.match(m, /metallb_bgp_session_up/, `${n.name} /metrics has BGP session metrics`);
    outputs.push({ what: `${n.name} /metrics`, text: m });
  }
  // Control: the scanner does find the secret where it legitimately is.
  const secretJson = await kubectlJson(['get', 'secret', '-n', RELEASE_NAMESPACE, 'bgp-auth']);
  t.ok(needles.some((x) => secretJson.includes(x)), 'control: the scan finds the password in the Secret itself');
  for (const o of outputs) {
    const hit = needles.find((x) => o.text.includes(x));
    t.notOk(hit, `${o.what}: no secret (${o.text.length} bytes scanned)${hit ? `: found ${hit === PASSWORD || hit === OTHER ? 'plain' : 'base64'} secret` : ''}`);
  }
});
