// End to end, BGP with FRR (docs/speaker.md). Two routers: FRR in the router namespace (eBGP,
// AS 64501, the seed-like config: aggregationLength 32, localPref 100, community 65535:65282 plus a
// large community, myASN 64500 / peerASN 64501, MD5 from a passwordSecret on the IPv4 sessions) and
// FRR in the client namespace (iBGP, AS 64500, where LOCAL_PREF must arrive as configured). FRR
// must learn the /32 and /128 from every eligible node (node1 and node2; node3 is excluded by the
// advertisement's node selector) with the right next hops and attributes; with
// externalTrafficPolicy Local only the endpoint's node advertises; deleting the Service withdraws
// everywhere.
import t from 'tap';
import { startCluster, RELEASE_NAMESPACE } from '../harness/cluster';
import { startFrr, type FrrHandle } from '../harness/routers/frr';
import { waitFor } from '../harness/lab';
import { createService, FAST_ELECTION } from '../fixtures/e2e/kit';
import { bgpAdvertisement, bgpPeer, passwordSecret, pool, toYaml } from '../fixtures/manifests/metallb-config';

const MD5 = 'e2e-md5-from-secret';

const ELIGIBLE = [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node1', 'node2'] }] }];
const CONFIG = toYaml([
  passwordSecret('bgp-md5', MD5),
  pool('bgp', ['10.77.0.200-10.77.0.210', 'fd00:77::200-fd00:77::210']),
  bgpPeer('ebgp-v4', { connectTime: '1s', passwordSecret: { name: 'bgp-md5', namespace: RELEASE_NAMESPACE } }),
  bgpPeer('ebgp-v6', { peerAddress: 'fd00:77::1', connectTime: '1s' }),
  bgpPeer('ibgp', { peerASN: 64500, peerAddress: '10.77.0.2', connectTime: '1s' }),
  bgpAdvertisement('seed', {
    ipAddressPools: ['bgp'],
    aggregationLength: 32,
    aggregationLengthV6: 128,
    localPref: 100,
    communities: ['65535:65282', 'large:64500:7:9'],
    peers: ['ebgp-v4', 'ebgp-v6'],
    nodeSelectors: ELIGIBLE,
  }),
  bgpAdvertisement('internal', { ipAddressPools: ['bgp'], localPref: 250, communities: ['64500:300'], peers: ['ibgp'], nodeSelectors: ELIGIBLE }),
]);

/** One path of `show bgp <afi> unicast <prefix> json` (FRR 8.4), the fields we check. */
interface DetailPath {
  readonly aspath?: { readonly string?: string };
  readonly community?: { readonly string?: string; readonly list?: readonly string[] };
  readonly largeCommunity?: { readonly string?: string };
  readonly locPrf?: number;
  readonly localpref?: number;
  readonly nexthops?: readonly { readonly ip?: string; readonly scope?: string }[];
  readonly peer?: { readonly peerId?: string };
}

async function detail(frr: FrrHandle, prefix: string): Promise<DetailPath[]> {
  const afi = prefix.includes(':') ? 'ipv6' : 'ipv4';
  const out = JSON.parse((await frr.vtysh(`show bgp ${afi} unicast ${prefix} json`)) || '{}') as { paths?: DetailPath[] };
  return out.paths ?? [];
}

/** Wait until `prefix` has paths from exactly the peers `from` (sorted addresses). */
async function waitPaths(frr: FrrHandle, prefix: string, from: readonly string[]): Promise<DetailPath[]> {
  return waitFor(
    `${frr.dir}: ${prefix} learnt from exactly ${from.join(', ')}`,
    async () => {
      const paths = await detail(frr, prefix);
      const peers = paths.map((p) => p.peer?.peerId ?? '').sort();
      return JSON.stringify(peers) === JSON.stringify([...from].sort()) ? paths : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

t.test('BGP end to end with FRR (eBGP seed config with MD5, iBGP LOCAL_PREF, withdraw)', async (t) => {
  const c = await startCluster(t, { nodes: 3, client: true, speakerArgs: FAST_ELECTION });
  const nodes = c.lab.nodes;
  const ebgp = await startFrr(c.lab, {
    asn: 64501,
    routerId: c.lab.router.ipv4,
    neighbors: [
      ...nodes.map((n) => ({ address: n.ipv4, remoteAs: 64500, password: MD5, families: ['ipv4' as const] })),
      ...nodes.map((n) => ({ address: n.ipv6, remoteAs: 64500, families: ['ipv6' as const] })),
    ],
  });
  const ibgp = await startFrr(c.lab, {
    asn: 64500,
    routerId: c.lab.client!.ipv4,
    ns: c.lab.client!.ns,
    name: 'frr-ibgp',
    neighbors: nodes.map((n) => ({ address: n.ipv4, remoteAs: 64500, families: ['ipv4' as const] })),
  });
  await c.apply(CONFIG);
  await c.startController();
  for (let i = 0; i < 3; i++) await c.startSpeaker(i);

  for (const n of nodes) {
    const v4 = await ebgp.waitEstablished(n.ipv4, 60_000);
    t.equal(v4.bgpState, 'Established', `eBGP IPv4 session with ${n.name} is up with the MD5 key from the Secret`);
    await ebgp.waitEstablished(n.ipv6, 60_000);
    await ibgp.waitEstablished(n.ipv4, 60_000);
  }
  t.pass('every node has its eBGP IPv4 (MD5), eBGP IPv6 and iBGP sessions up');

  await createService(c, 'demo', 'web', { dualStack: true, pool: 'bgp' });
  await c.setEndpoints('demo', 'web', nodes.map((n) => n.name));
  const ips = await c.waitForIngress('demo', 'web', 60_000);
  const v4 = ips.find((ip) => !ip.includes(':'))!;
  const v6 = ips.find((ip) => ip.includes(':'))!;
  t.ok(v4 && v6, `dual-stack ingress ${ips.join(', ')}`);
  const eligible = nodes.slice(0, 2);

  const p4 = await waitPaths(ebgp, `${v4}/32`, eligible.map((n) => n.ipv4));
  for (const n of eligible) {
    const p = p4.find((x) => x.peer?.peerId === n.ipv4);
    t.ok(p?.nexthops?.some((h) => h.ip === n.ipv4), `${v4}/32 from ${n.name} has next hop ${n.ipv4}`);
    t.equal(p?.aspath?.string, '64500', `${v4}/32 from ${n.name}: AS path 64500`);
    // FRR prints the well-known 65535:65282 by its name.
    t.ok(p?.community?.list?.some((x) => x === 'noAdvertise' || x === '65535:65282'), `${v4}/32 from ${n.name}: community 65535:65282 (${p?.community?.string})`);
    t.equal(p?.largeCommunity?.string, '64500:7:9', `${v4}/32 from ${n.name}: large community 64500:7:9`);
  }
  const p6 = await waitPaths(ebgp, `${v6}/128`, eligible.map((n) => n.ipv6));
  for (const n of eligible) {
    const p = p6.find((x) => x.peer?.peerId === n.ipv6);
    t.ok(p?.nexthops?.some((h) => h.ip === n.ipv6), `${v6}/128 from ${n.name} has next hop ${n.ipv6}`);
    t.equal(p?.largeCommunity?.string, '64500:7:9', `${v6}/128 from ${n.name}: large community`);
  }
  const pi = await waitPaths(ibgp, `${v4}/32`, eligible.map((n) => n.ipv4));
  for (const n of eligible) {
    const p = pi.find((x) => x.peer?.peerId === n.ipv4);
    t.equal(p?.locPrf ?? p?.localpref, 250, `iBGP: LOCAL_PREF 250 from ${n.name} as configured`);
    t.equal(p?.community?.string, '64500:300', `iBGP: community 64500:300 from ${n.name}`);
    t.ok(p?.nexthops?.some((h) => h.ip === n.ipv4), `iBGP: next hop ${n.ipv4}`);
  }
  const kernel = await ebgp.waitKernelRoute(`${v4}/32`, (r) => (r.nexthops?.length ?? (r.gateway ? 1 : 0)) >= 1);
  t.ok(kernel, `the router installed ${v4}/32 in its kernel: ${JSON.stringify(kernel)}`);

  // externalTrafficPolicy Local: only the node with a ready endpoint advertises.
  await createService(c, 'demo', 'local', { pool: 'bgp', local: true });
  await c.setEndpoints('demo', 'local', [nodes[1]!.name]);
  const [lip] = await c.waitForIngress('demo', 'local', 60_000);
  const lp = await waitPaths(ebgp, `${lip}/32`, [nodes[1]!.ipv4]);
  t.equal(lp.length, 1, `externalTrafficPolicy Local: ${lip}/32 only from ${nodes[1]!.name}`);

  // Deleting the Service withdraws everywhere.
  await c.core.deleteNamespacedService({ name: 'web', namespace: 'demo' });
  await ebgp.waitRouteGone(`${v4}/32`, 30_000);
  await ebgp.waitRouteGone(`${v6}/128`, 30_000);
  await ibgp.waitRouteGone(`${v4}/32`, 30_000);
  t.pass(`deleting the Service withdrew ${v4}/32 and ${v6}/128 from both routers`);
  const still = await detail(ebgp, `${lip}/32`);
  t.equal(still.length, 1, 'the other Service stays advertised');
  for (const n of nodes) t.equal((await ebgp.neighbor(n.ipv4))?.bgpState, 'Established', `the session with ${n.name} stayed up`);
});
