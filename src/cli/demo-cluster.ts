/**
 * `metallb-ts demo --cluster`: the user's path on a real cluster in the lab (docs/lab-cluster.md),
 * left running for kubectl. Two nodes (network namespaces with their own containerd, kubelet and
 * kube-proxy), the test control plane, FRR on the lab router; `helm install` of the chart with
 * upstream 0.16.1's values and the images imported; a pool announced over L2 and BGP, a backend
 * Deployment behind a LoadBalancer Service, and the client's answer through the VIP. Ctrl-C (or
 * SIGTERM) tears it all down; a second one during the teardown falls back to killing what is left.
 * It reuses the cluster test's harness and steps on purpose: what the demo shows is what CI checks.
 */
import { startFrr, type FrrHandle } from '../../test/harness/routers/frr';
import { startLabCluster, type LabCluster } from '../../test/harness/lab-cluster';
import { LAB } from '../../test/fixtures/manifests/metallb-config';
import {
  applyObjects, backend, helmInstall, metallbConfig, RELEASE_NS, waitForAnswer, waitForVip,
} from '../../test/fixtures/cluster/user-path';

/** Options of the cluster demo. */
export interface ClusterDemoOptions {
  /** Exit after the walkthrough instead of waiting for Ctrl-C. */
  once: boolean;
  out: (line: string) => void;
}

const NODES = 2;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function indent(text: string): string {
  return text.trim().split('\n').map((l) => `    ${l}`).join('\n');
}

/**
 * Resolve on the first SIGINT or SIGTERM, which only this waiter sees: the harness's last-resort
 * handlers (kill everything, exit at once) are set aside meanwhile and put back when it arrives, so
 * the first Ctrl-C gets the orderly teardown and a second one still forces the way out.
 */
function firstInterrupt(): Promise<NodeJS.Signals> {
  const saved = SIGNALS.map((s) => [s, process.listeners(s)] as const);
  for (const s of SIGNALS) process.removeAllListeners(s);
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      for (const s of SIGNALS) process.removeListener(s, on);
      for (const [s, listeners] of saved) for (const l of listeners) process.on(s, l);
      resolve(sig);
    };
    for (const s of SIGNALS) process.on(s, on);
  });
}

async function show(c: LabCluster, out: (l: string) => void, args: string[]): Promise<void> {
  const r = await c.cp.kubectl(args);
  out(`$ kubectl ${args.join(' ')}`);
  out(indent(r.stdout || r.stderr));
}

/** Bring the cluster up, walk through the user's path, wait for Ctrl-C (unless `once`), tear down. */
export async function runClusterDemo(opts: ClusterDemoOptions): Promise<number> {
  const { out } = opts;
  const t0 = Date.now();
  let c: LabCluster | undefined;
  let frr: FrrHandle | undefined;
  try {
    out(`metallb-ts demo --cluster: ${NODES} nodes (containerd, kubelet, kube-proxy each), control plane, FRR, client ...`);
    c = await startLabCluster(NODES);
    out(`  cluster Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (images ${(c.imagesMs / 1000).toFixed(1)} s)`);
    frr = await startFrr(c.lab, {
      asn: LAB.routerAsn,
      routerId: c.lab.router.ipv4,
      neighbors: c.nodes.map((n) => ({ address: n.lab.ipv4, remoteAs: LAB.nodeAsn, families: ['ipv4' as const] })),
    });
    out(`$ helm install metallb charts/metallb-ts -n ${RELEASE_NS} --create-namespace -f metallb-0.16.1-values.yaml --set image...`);
    const install = await helmInstall(c);
    out(indent(install.stdout || install.stderr));
    if (install.code !== 0) throw new Error('helm install failed');
    for (const workload of ['deployment/metallb-controller', 'daemonset/metallb-speaker']) {
      const r = await c.cp.kubectl(['rollout', 'status', workload, '-n', RELEASE_NS, '--timeout=180s']);
      if (r.code !== 0) throw new Error(`${workload} not Ready: ${r.stderr}`);
    }
    await applyObjects(c, [...metallbConfig({ bgp: true }), ...backend()]);
    const vip = await waitForVip(c);
    const answer = await waitForAnswer(c, vip);
    out('');
    out(`Service default/web got ${vip}; answered ${((Date.now() - t0) / 1000).toFixed(1)} s after start.`);
    await show(c, out, ['get', 'nodes', '-o', 'wide']);
    await show(c, out, ['get', 'pods', '-A', '-o', 'wide']);
    await show(c, out, ['get', 'svc', 'web']);
    const client = c.lab.client!;
    out(`$ curl http://${vip}/   (client ${client.ipv4}, namespace ${client.ns})`);
    out(`    ${JSON.stringify(answer)}`);
    await frr.waitRoute(`${vip}/32`, (paths) => paths.length === NODES, 30_000).catch(() => undefined);
    out(`$ vtysh -c 'show ip bgp ${vip}/32'   (router)`);
    out(indent(await frr.vtysh(`show ip bgp ${vip}/32`).catch((e: unknown) => String(e))));
    out('');
    if (opts.once) return 0;
    out('The cluster stays up. Try:');
    out(`  export KUBECONFIG=${c.cp.kubeconfigPath}`);
    out(`  kubectl get pods -n ${RELEASE_NS} -o wide; kubectl delete pod -n ${RELEASE_NS} -l app.kubernetes.io/component=speaker`);
    out(`  ip netns exec ${client.ns} curl http://${vip}/`);
    out('Press Ctrl-C to tear down.');
    await firstInterrupt();
    return 0;
  } catch (err) {
    out(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    out('tearing down ...');
    await frr?.stop().catch(() => undefined);
    const left = c ? await c.stop() : [];
    out(left.length === 0 ? 'done' : `done; could not undo: ${left.join('; ')}`);
  }
}
