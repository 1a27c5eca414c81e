/**
 * `metallb-ts demo`: the whole story a user would watch, on this machine. A real kube-apiserver +
 * etcd on loopback, the chart's CRDs, the controller, three speakers in node namespaces, an FRR
 * router and a client on one bridge. It applies an ordinary MetalLB configuration, creates a
 * LoadBalancer Service, shows `kubectl get svc`, the router's BGP routes and the client's
 * neighbour entry, then kills the announcing node and shows traffic move. The test harness is
 * reused on purpose: the demo is the end-to-end tests' lab with a walkthrough
 * (docs/architecture.md §8).
 */
import { startCluster, type Cluster } from '../../test/harness/cluster';
import { waitFor } from '../../test/harness/lab';
import { startFrr, type FrrHandle } from '../../test/harness/routers/frr';
import { labConfig, toYaml } from '../../test/fixtures/manifests/metallb-config';

/** Options of the demo command. */
export interface DemoOptions {
  /** Exit after the walkthrough instead of waiting for Ctrl-C (used by the demo's own test). */
  once: boolean;
  out: (line: string) => void;
}

/** An ordinary configuration: one pool announced over L2 and BGP, the router as the BGP peer. */
const CONFIG = toYaml(
  labConfig({
    pool: 'demo-pool',
    l2: { name: 'demo-l2' },
    bgp: { name: 'demo-bgp', aggregationLength: 32, communities: ['65535:65282'] },
    peer: { holdTime: '9s' },
  }),
);

function indent(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

async function show(c: Cluster, frr: FrrHandle, out: (l: string) => void, vip: string): Promise<void> {
  const svc = await c.cp.kubectl(['get', 'svc', '-n', 'demo', '-o', 'wide']);
  out('$ kubectl get svc -n demo');
  out(indent(svc.stdout || svc.stderr));
  out(`$ vtysh -c 'show ip bgp ${vip}/32'   (router)`);
  out(indent(await frr.vtysh(`show ip bgp ${vip}/32`).catch((e: unknown) => String(e))));
  const neigh = await c.lab.exec(c.lab.client!.ns, ['ip', 'neigh', 'show', vip]);
  out(`$ ip neigh show ${vip}   (client)`);
  out(indent(neigh.stdout || '(no entry)'));
}

/** Run the demo until Ctrl-C (or once). Resolves with the exit code. */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out } = opts;
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => teardowns.push(fn) };
  const t0 = Date.now();
  try {
    out('metallb-ts demo: local control plane, CRDs, controller, 3 speakers, FRR router, client ...');
    const c = await startCluster(t, { nodes: 3, client: true, speakerArgs: ['--l2-renew-interval', '3s', '--l2-lease-duration', '10s'] });
    out(`  kube-apiserver ${c.cp.server} (kubeconfig ${c.cp.kubeconfigPath})`);
    for (const n of c.lab.nodes) out(`  ${n.name}: ${n.ipv4} ${n.ipv6} mac ${n.mac} (namespace ${n.ns})`);
    out(`  router: ${c.lab.router.ipv4} AS 64501, client: ${c.lab.client!.ipv4}`);
    const frr = await startFrr(c.lab, { asn: 64501, routerId: c.lab.router.ipv4, listenRanges: [{ range: '10.77.0.0/24', remoteAs: 64500 }], maximumPaths: 8 });
    teardowns.push(() => frr.stop());
    await c.apply(CONFIG);
    await c.startController();
    for (let i = 0; i < c.lab.nodes.length; i++) await c.startSpeaker(i);
    await c.core.createNamespace({ body: { metadata: { name: 'demo' } } });
    await c.core.createNamespacedService({
      namespace: 'demo',
      body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 8080, protocol: 'TCP' }], selector: { app: 'web' } } },
    });
    await c.setEndpoints('demo', 'web', c.lab.nodes.map((n) => n.name));
    const [vip] = await c.waitForIngress('demo', 'web', 60_000);
    if (!vip) throw new Error('no ingress IP');
    for (const n of c.lab.nodes) await c.lab.addVip(n.index, vip);
    const first = await waitFor(`a TCP connect to ${vip}`, () => c.connect(c.lab.client!.ns, vip), { timeoutMs: 30_000 });
    await frr.waitRoute(`${vip}/32`, (paths) => paths.length === c.lab.nodes.length, 30_000).catch(() => undefined);
    out('');
    out(`Service demo/web got ${vip}; ready ${((Date.now() - t0) / 1000).toFixed(1)} s after start.`);
    await show(c, frr, out, vip);
    out(`$ client connects to ${vip}:8080 -> answered by ${first}`);

    const victim = c.lab.nodes.find((n) => n.name === first)!;
    out('');
    out(`Failing ${victim.name}: kill -9 its speaker and cut its link ...`);
    const killedAt = Date.now();
    await c.stopSpeaker(victim.index, 'SIGKILL');
    await c.lab.linkDown(victim.index);
    const next = await waitFor('traffic to move', async () => {
      const who = await c.connect(c.lab.client!.ns, vip, 500);
      return who && who !== victim.name ? who : undefined;
    }, { timeoutMs: 30_000, intervalMs: 20 });
    out(`Traffic moved to ${next} ${Date.now() - killedAt} ms after the kill.`);
    await frr.waitRoute(`${vip}/32`, (paths) => paths.length === c.lab.nodes.length - 1, 30_000).catch(() => undefined);
    await show(c, frr, out, vip);
    out('');
    if (opts.once) return 0;
    out('Everything stays up: kubeconfig above works with kubectl. Press Ctrl-C to tear down.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    return 0;
  } catch (err) {
    out(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    out('tearing down ...');
    // First-in first-out, as tap runs them: the harness registers its teardowns in that order
    // (processes before the lab and bridges they use); in reverse, closing a bridge while the
    // speakers still held connections through it could hang.
    for (const fn of teardowns) {
      try {
        await fn();
      } catch {
        // keep tearing down
      }
    }
    out('done');
  }
}
