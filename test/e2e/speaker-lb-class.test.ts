// End to end, the speaker's --lb-class filter (docs/speaker.md), seen in FRR's table. node1's
// speaker runs with --lb-class example.com/ours, node2's without. Three Services with IPs in the
// pool: one without a class (its IP from our controller, which handles class-less Services), one
// of class example.com/ours and one of another class (their IPs written into status as their
// class's controller would). node1 must advertise only the example.com/ours one, node2 only the
// class-less one, and nobody the other class's.
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { startCluster } from '../harness/cluster';
import { startFrr, type FrrHandle } from '../harness/routers/frr';
import { waitFor } from '../harness/lab';
import { createService } from '../fixtures/e2e/kit';
import { bgpAdvertisement, bgpPeer, pool, toYaml } from '../fixtures/manifests/metallb-config';

const OURS = 'example.com/ours';
const NS = 'cls';

const CONFIG = toYaml([pool('bgp', ['10.77.0.200-10.77.0.210']), bgpPeer('router', { connectTime: '1s' }), bgpAdvertisement('bgp', { ipAddressPools: ['bgp'] })]);

/** Peers FRR holds `prefix` from, sorted. */
async function pathsFrom(frr: FrrHandle, prefix: string): Promise<string[]> {
  return ((await frr.bgpTable('ipv4'))[prefix] ?? []).map((p) => p.peerId ?? '').sort();
}

async function waitFrom(frr: FrrHandle, prefix: string, from: string): Promise<void> {
  await waitFor(`${prefix} from ${from}`, async () => ((await pathsFrom(frr, prefix)).includes(from) ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
}

t.test('--lb-class: each speaker advertises only the Services of its class', async (t) => {
  const c = await startCluster(t, { nodes: 2, client: false });
  const [n1, n2] = c.lab.nodes;
  const frr = await startFrr(c.lab, {
    asn: 64501,
    routerId: c.lab.router.ipv4,
    neighbors: [n1!, n2!].map((n) => ({ address: n.ipv4, remoteAs: 64500, families: ['ipv4' as const] })),
  });
  await c.apply(CONFIG);
  await c.startController();
  await c.startSpeaker(0, ['--lb-class', OURS]);
  await c.startSpeaker(1);
  for (const n of [n1!, n2!]) await frr.waitEstablished(n.ipv4, 60_000);

  /** A Service with endpoints on both nodes; a classed one gets `ip` in its status, as its own controller would write it. */
  const svc = async (name: string, ip: string, loadBalancerClass?: string): Promise<void> => {
    await createService(c, NS, name, { annotations: { 'metallb.io/loadBalancerIPs': ip }, ...(loadBalancerClass ? { loadBalancerClass } : {}) });
    if (loadBalancerClass) {
      await c.core.patchNamespacedServiceStatus(
        { name, namespace: NS, body: { status: { loadBalancer: { ingress: [{ ip }] } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
    await c.setEndpoints(NS, name, [n1!.name, n2!.name]);
  };
  // Creation order matters for the negative checks: a speaker that advertises a Service has seen
  // every Service created before it (one watch, in order), so a wrong route would be in the same
  // or an earlier UPDATE.
  await svc('foreign', '10.77.0.203', 'other.example/lb');
  await svc('classless', '10.77.0.201');
  await svc('ours', '10.77.0.202', OURS);
  // After every other Service: node2 advertising it has seen them all.
  await svc('classless-late', '10.77.0.205');
  t.same(await c.waitForIngress(NS, 'classless', 60_000), ['10.77.0.201'], 'our class-less controller assigned the class-less Service');

  await waitFrom(frr, '10.77.0.202/32', n1!.ipv4);
  await waitFrom(frr, '10.77.0.205/32', n2!.ipv4);
  await waitFrom(frr, '10.77.0.201/32', n2!.ipv4);
  t.same(await pathsFrom(frr, '10.77.0.202/32'), [n1!.ipv4], `${OURS}: advertised by node1 (--lb-class ${OURS}) only`);
  t.same(await pathsFrom(frr, '10.77.0.201/32'), [n2!.ipv4], 'class-less: advertised by node2 (no --lb-class) only');
  t.same(await pathsFrom(frr, '10.77.0.205/32'), [n2!.ipv4], 'class-less, created last: node2 only');
  t.same(await pathsFrom(frr, '10.77.0.203/32'), [], 'another class: advertised by nobody');
  const foreign = await c.core.readNamespacedService({ name: 'foreign', namespace: NS });
  t.same(foreign.status?.loadBalancer?.ingress?.map((i) => i.ip), ['10.77.0.203'], "our controller left the other class's status alone");
});
