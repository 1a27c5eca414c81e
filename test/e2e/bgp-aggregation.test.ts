// End to end, aggregated routes in FRR's table (docs/upstream-behaviour.md §5.3, bgp-routes.ts):
// a BGPAdvertisement with aggregationLength 30 and aggregationLengthV6 126 makes every node
// advertise the Service IP masked to /30 and /126, never the /32 or /128. Two Services in one /30
// share one route, which stays while either Service exists and goes with the last one.
import t from 'tap';
import { startCluster } from '../harness/cluster';
import { startFrr, type FrrHandle } from '../harness/routers/frr';
import { waitFor } from '../harness/lab';
import { createService } from '../fixtures/e2e/kit';
import { bgpAdvertisement, bgpPeer, pool, toYaml } from '../fixtures/manifests/metallb-config';

const CONFIG = toYaml([
  pool('agg', ['10.77.0.192/28', 'fd00:77::c0/124']),
  bgpPeer('ebgp-v4', { connectTime: '1s' }),
  bgpPeer('ebgp-v6', { peerAddress: 'fd00:77::1', connectTime: '1s' }),
  bgpAdvertisement('agg', { ipAddressPools: ['agg'], aggregationLength: 30, aggregationLengthV6: 126 }),
]);

/** Our pool's prefixes in FRR's table of `family`, sorted. */
async function poolPrefixes(frr: FrrHandle, family: 'ipv4' | 'ipv6'): Promise<string[]> {
  const inPool = family === 'ipv4' ? (p: string) => p.startsWith('10.77.0.19') : (p: string) => p.startsWith('fd00:77::c');
  return Object.keys(await frr.bgpTable(family)).filter(inPool).sort();
}

/** Wait until FRR holds `prefix` from exactly the peers `from`; resolves with its paths. */
async function waitPaths(frr: FrrHandle, prefix: string, from: readonly string[]): Promise<void> {
  const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
  await waitFor(
    `${prefix} from exactly ${from.join(', ')}`,
    async () => {
      const peers = ((await frr.bgpTable(family))[prefix] ?? []).map((p) => p.peerId ?? '').sort();
      return JSON.stringify(peers) === JSON.stringify([...from].sort()) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

t.test('aggregationLength 30 / aggregationLengthV6 126 in FRR: one aggregate per block, from every node', async (t) => {
  const c = await startCluster(t, { nodes: 2, client: false });
  const nodes = c.lab.nodes;
  const frr = await startFrr(c.lab, {
    asn: 64501,
    routerId: c.lab.router.ipv4,
    neighbors: [
      ...nodes.map((n) => ({ address: n.ipv4, remoteAs: 64500, families: ['ipv4' as const] })),
      ...nodes.map((n) => ({ address: n.ipv6, remoteAs: 64500, families: ['ipv6' as const] })),
    ],
  });
  await c.apply(CONFIG);
  await c.startController();
  for (let i = 0; i < nodes.length; i++) await c.startSpeaker(i);

  const svc = async (name: string, ips: string, dualStack = false): Promise<void> => {
    await createService(c, 'agg', name, { annotations: { 'metallb.io/loadBalancerIPs': ips }, dualStack });
    await c.setEndpoints('agg', name, nodes.map((n) => n.name));
  };
  await svc('a', '10.77.0.193,fd00:77::c1', true);
  await svc('b', '10.77.0.194');
  await svc('c', '10.77.0.198');
  t.same((await c.waitForIngress('agg', 'a', 60_000)).sort(), ['10.77.0.193', 'fd00:77::c1'], 'a got its requested IPs');
  t.same(await c.waitForIngress('agg', 'c', 60_000), ['10.77.0.198']);

  const v4From = nodes.map((n) => n.ipv4);
  await waitPaths(frr, '10.77.0.192/30', v4From);
  await waitPaths(frr, '10.77.0.196/30', v4From);
  await waitPaths(frr, 'fd00:77::c0/126', nodes.map((n) => n.ipv6));
  t.same(await poolPrefixes(frr, 'ipv4'), ['10.77.0.192/30', '10.77.0.196/30'], 'IPv4: the two /30 aggregates, no /32 (a and b share 10.77.0.192/30)');
  t.same(await poolPrefixes(frr, 'ipv6'), ['fd00:77::c0/126'], 'IPv6: the /126 aggregate, no /128');
  for (const p of (await frr.bgpTable('ipv4'))['10.77.0.192/30'] ?? []) {
    t.ok(p.nexthops?.some((h) => h.ip === p.peerId), `10.77.0.192/30 from ${p.peerId}: next hop is that node`);
  }
  const kernel = await frr.waitKernelRoute('10.77.0.192/30');
  t.ok(kernel, `the router installed 10.77.0.192/30 in its kernel: ${JSON.stringify(kernel)}`);

  // a goes, then c. The /126 was a's alone, so its withdrawal shows a's deletion was applied; b
  // alone then keeps 10.77.0.192/30.
  await c.core.deleteNamespacedService({ name: 'a', namespace: 'agg' });
  await c.core.deleteNamespacedService({ name: 'c', namespace: 'agg' });
  await frr.waitRouteGone('10.77.0.196/30', 30_000);
  await frr.waitRouteGone('fd00:77::c0/126', 30_000);
  t.same(await poolPrefixes(frr, 'ipv4'), ['10.77.0.192/30'], 'the shared aggregate stays while b is in it');
  await waitPaths(frr, '10.77.0.192/30', v4From);

  await c.core.deleteNamespacedService({ name: 'b', namespace: 'agg' });
  await frr.waitRouteGone('10.77.0.192/30', 30_000);
  t.same(await poolPrefixes(frr, 'ipv4'), [], 'withdrawn with the last Service in the block');
  for (const n of nodes) t.equal((await frr.neighbor(n.ipv4))?.bgpState, 'Established', `the session with ${n.name} stayed up`);
});
