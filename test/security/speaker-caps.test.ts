/**
 * The speaker needs only CAP_NET_RAW (docs/security.md), and serves /metrics over TLS with the
 * configured minimum version. Each speaker runs as uid 0 in its node namespace under
 * `setpriv --bounding-set=-all,+net_raw` (so no other capability can ever be gained) with
 * NET_RAW inheritable and ambient; the test reads CapEff/CapBnd from /proc to prove it, then
 * checks the whole job still works: ARP answered by exactly one node MAC, BGP routes from every
 * node at FRR, and HTTPS /metrics refusing TLS 1.2 while the default minimum is TLS 1.3.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startCluster } from '../harness/cluster';
import { waitFor } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import { labConfig, toYaml } from '../fixtures/manifests/metallb-config';

const CAP_NET_RAW = 13;
const METRICS_PORT = 9443;
const ONLY_NET_RAW = ['setpriv', '--inh-caps=-all,+net_raw', '--ambient-caps=+net_raw', '--bounding-set=-all,+net_raw', '--'];

// Advertisements of every pool over L2 and BGP, and the router's peer.
const CONFIG = toYaml(labConfig({ addresses: ['10.77.0.100-10.77.0.110'], everyPool: true, bgp: {}, peer: { holdTime: '9s' } }));

function caps(pid: number): { eff: bigint; bnd: bigint; uid: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string): bigint => BigInt(`0x${new RegExp(`^${k}:\\s+([0-9a-f]+)`, 'm').exec(status)?.[1] ?? '0'}`);
  return { eff: field('CapEff'), bnd: field('CapBnd'), uid: /^Uid:\s+(\d+)/m.exec(status)?.[1] ?? '?' };
}

t.test('speakers with only CAP_NET_RAW announce over L2 and BGP; metrics over TLS 1.3', async (t) => {
  const certDir = mkdtempSync(join(tmpdir(), 'mlb-tls-'));
  t.teardown(() => rmSync(certDir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(certDir, 'tls.key'), '-out', join(certDir, 'tls.crt'), '-days', '1', '-subj', '/CN=metallb-ts-test'], { stdio: 'ignore' });
  const c = await startCluster(t, {
    nodes: 2,
    client: true,
    speakerPrefix: ONLY_NET_RAW,
    speakerArgs: ['--l2-renew-interval', '2s', '--l2-lease-duration', '6s', '--port', String(METRICS_PORT), '--metrics-cert-dir', certDir],
  });
  const frr = await startFrr(c.lab, { asn: 64501, routerId: c.lab.router.ipv4, listenRanges: [{ range: '10.77.0.0/24', remoteAs: 64500 }], maximumPaths: 8, zebra: false });
  t.teardown(() => frr.stop());
  await c.apply(CONFIG);
  await c.startController();
  for (const n of c.lab.nodes) await c.startSpeaker(n.index);

  for (const n of c.lab.nodes) {
    const pid = c.speaker(n.index)?.pid;
    t.ok(pid, `${n.name}: speaker running`);
    // setpriv execs node: once the PID runs node, the capability sets are the speaker's own.
    await waitFor(`${n.name} speaker exec'd`, () => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node', { timeoutMs: 10_000 });
    const cap = caps(pid!);
    t.equal(cap.uid, '0', `${n.name}: runs as uid 0 (capabilities, not uid, grant access)`);
    t.equal(cap.eff, 1n << BigInt(CAP_NET_RAW), `${n.name}: CapEff is exactly CAP_NET_RAW (0x${cap.eff.toString(16)})`);
    t.equal(cap.bnd, 1n << BigInt(CAP_NET_RAW), `${n.name}: CapBnd is exactly CAP_NET_RAW`);
  }

  await c.core.createNamespace({ body: { metadata: { name: 'demo' } } });
  await c.core.createNamespacedService({ namespace: 'demo', body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 8080, protocol: 'TCP' }], selector: { app: 'web' } } } });
  await c.setEndpoints('demo', 'web', c.lab.nodes.map((n) => n.name));
  const [ip] = await c.waitForIngress('demo', 'web', 60_000);
  const client = c.lab.client!;
  const macs = await waitFor(
    `exactly one MAC answering ARP for ${ip}`,
    async () => {
      const r = await c.lab.exec(client.ns, ['arping', '-c', '2', '-w', '2', '-I', client.iface, ip!]);
      const seen = new Set([...r.stdout.matchAll(/\[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1]!.toLowerCase()));
      return seen.size === 1 ? [...seen] : undefined;
    },
    { timeoutMs: 60_000 },
  );
  t.ok(c.lab.nodes.some((n) => n.mac === macs[0]), `ARP for ${ip} answered by a node (${macs[0]})`);
  const paths = await frr.waitRoute(`${ip}/32`, (p) => p.length === c.lab.nodes.length, 60_000);
  t.equal(paths.length, c.lab.nodes.length, `FRR has ${ip}/32 from every node`);

  for (const n of c.lab.nodes) {
    const ok = await c.lab.exec(n.ns, ['curl', '-sk', '--tlsv1.3', `https://127.0.0.1:${METRICS_PORT}/metrics`]);
    t.match(ok.stdout, /metallb_bgp_session_up\{[^}]*\} 1/, `${n.name}: /metrics over TLS 1.3 shows the session up`);
    const old = await c.lab.exec(n.ns, ['curl', '-sk', '--tlsv1.2', '--tls-max', '1.2', `https://127.0.0.1:${METRICS_PORT}/metrics`]);
    t.not(old.code, 0, `${n.name}: a TLS 1.2-only client is refused (curl exit ${old.code})`);
    const plain = await c.lab.exec(n.ns, ['curl', '-s', '--max-time', '5', `http://127.0.0.1:${METRICS_PORT}/metrics`]);
    t.notMatch(plain.stdout, /metallb_/, `${n.name}: no plain-HTTP metrics`);
  }
});
