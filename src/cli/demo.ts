/**
 * `metallb-ts demo`: the lab a user would look at. A real kube-apiserver + etcd on loopback, the
 * chart's CRDs, an FRR router, three node namespaces and a client on one bridge. It prints what is
 * running and tears everything down on Ctrl-C. The test harness is reused on purpose: the demo is
 * the integration tests' lab with a human-readable walkthrough (DESIGN.md §6).
 */
import { startControlPlane } from '../../test/harness/apiserver';
import { createLab } from '../../test/harness/lab';
import { startFrr } from '../../test/harness/routers/frr';

/** Options of the demo command. */
export interface DemoOptions {
  /** Exit after printing instead of waiting for Ctrl-C (used by the demo's own test). */
  once: boolean;
  out: (line: string) => void;
}

/** Run the demo until Ctrl-C (or once). Resolves with the exit code. */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out } = opts;
  const t0 = Date.now();
  out('metallb-ts demo: starting a local control plane (etcd + kube-apiserver) ...');
  const cp = await startControlPlane();
  out(`  kube-apiserver ${cp.server} ready in ${(cp.startupMs / 1000).toFixed(1)} s; kubeconfig ${cp.kubeconfigPath}`);
  const lab = await createLab({ nodes: 3, client: true, name: 'demo' });
  const stopAll = async (): Promise<void> => {
    await lab.destroy();
    await cp.stop();
  };
  try {
    out(`  lab: router ${lab.router.ns} (${lab.router.ipv4}, ${lab.router.ipv6}) bridge br0`);
    for (const n of lab.nodes) out(`  ${n.name}: ns ${n.ns} ${n.ipv4} ${n.ipv6} mac ${n.mac}`);
    if (lab.client) out(`  client: ns ${lab.client.ns} ${lab.client.ipv4} ${lab.client.ipv6}`);
    const frr = await startFrr(lab, {
      asn: 64501,
      routerId: lab.router.ipv4,
      listenRanges: [
        { range: '10.77.0.0/24', remoteAs: 64500 },
        { range: 'fd00:77::/64', remoteAs: 64500 },
      ],
    });
    out(`  FRR router AS 64501 listening for the nodes (AS 64500); vtysh: vtysh --vty_socket ${frr.dir}/run`);
    const v = await cp.kubectl(['get', 'nodes,svc', '-A']);
    out('');
    out('$ kubectl get svc -A');
    out(v.stdout.trim() || v.stderr.trim());
    out('');
    out(`everything up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (opts.once) return 0;
    out('press Ctrl-C to tear down');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    return 0;
  } finally {
    out('tearing down ...');
    await stopAll();
    out('done');
  }
}
