/**
 * Our speaker (a child process per node namespace) against FRR 8.4 in the router namespace:
 * IPv4 and IPv6 peers and prefixes, 4-octet ASN, eBGP and iBGP (LOCAL_PREF), MED, communities
 * and large communities in FRR's JSON, withdraw, TCP MD5 with the right and a wrong key.
 */
import t from 'tap';
import { createLab, delay } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import type { FrrPath } from '../harness/routers/frr';
import { DUAL_STACK_FAMILIES } from '../../src/bgp/families';
import { sessionConfig, startSpeaker } from '../fixtures/bgp/speaker-driver';

const C = (a: number, b: number): number => a * 65536 + b;

interface FrrPrefixPath extends FrrPath {
  aspath?: { string?: string; length?: number };
  /** FRR prints MED as `metric` and LOCAL_PREF as `locPrf`. */
  metric?: number;
  locPrf?: number;
  peer?: { type?: string };
  community?: { string?: string };
  largeCommunity?: { string?: string };
}

t.test('FRR interop', async (t) => {
  const lab = await createLab({ nodes: 5, name: 'bgp-frr' });
  t.teardown(() => lab.destroy());
  const [n1, n2, n3, n4, n5] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0]];
  const frr = await startFrr(lab, {
    asn: 64501,
    routerId: '10.77.0.1',
    neighbors: [
      { address: n1.ipv4, remoteAs: 64500, families: ['ipv4'] },
      { address: n1.ipv6, remoteAs: 64500, families: ['ipv6'] },
      { address: n2.ipv4, remoteAs: 4200000000, families: ['ipv4', 'ipv6'] },
      { address: n3.ipv4, remoteAs: 64501, families: ['ipv4'] },
      { address: n4.ipv4, remoteAs: 64500, password: 'n0de4-md5', families: ['ipv4'] },
      { address: n5.ipv4, remoteAs: 64500, password: 'right-key', families: ['ipv4'] },
    ],
  });
  const detail = async (family: 'ipv4' | 'ipv6', prefix: string): Promise<FrrPrefixPath[]> => {
    const out = JSON.parse(await frr.vtysh(`show bgp ${family} unicast ${prefix} json`)) as { paths?: FrrPrefixPath[] };
    return out.paths ?? [];
  };

  const attrs = { med: 50, communities: [C(65000, 200), C(65000, 100)], largeCommunities: [{ globalAdmin: 64500, localData1: 1, localData2: 2 }] };
  const s1 = startSpeaker(
    lab,
    n1.ns,
    [
      { id: 'v4', config: sessionConfig({ peerAddress: '10.77.0.1', localAsn: 64500, peerAsn: 64501, routerId: n1.ipv4, families: [{ afi: 1, safi: 1 }] }) },
      { id: 'v6', config: sessionConfig({ peerAddress: 'fd00:77::1', localAsn: 64500, peerAsn: 64501, routerId: n1.ipv4, families: [{ afi: 2, safi: 1 }] }) },
    ],
    { '10.77.0.100/32': attrs, 'fd00:77::100/128': attrs, '10.77.0.101/32': {} },
  );
  const s2 = startSpeaker(lab, n2.ns, [{ id: 'asn4', config: sessionConfig({ peerAddress: '10.77.0.1', localAsn: 4200000000, peerAsn: 64501, routerId: n2.ipv4, families: [...DUAL_STACK_FAMILIES] }) }], {
    '10.77.0.102/32': {},
    'fd00:77::102/128': {},
  });
  const s3 = startSpeaker(lab, n3.ns, [{ id: 'ibgp', config: sessionConfig({ peerAddress: '10.77.0.1', localAsn: 64501, peerAsn: 64501, routerId: n3.ipv4 }) }], {
    '10.77.0.103/32': { localPref: 250 },
  });
  const s4 = startSpeaker(lab, n4.ns, [{ id: 'md5', config: sessionConfig({ peerAddress: '10.77.0.1', localAsn: 64500, peerAsn: 64501, routerId: n4.ipv4, password: 'n0de4-md5' }) }], {
    '10.77.0.104/32': {},
  });
  const s5 = startSpeaker(lab, n5.ns, [{ id: 'badkey', config: sessionConfig({ peerAddress: '10.77.0.1', localAsn: 64500, peerAsn: 64501, routerId: n5.ipv4, password: 'wrong-key' }) }], {
    '10.77.0.105/32': {},
  });

  t.test('IPv4 and IPv6 eBGP with MED, communities and large communities', async (t) => {
    await frr.waitEstablished(n1.ipv4, 60_000);
    await frr.waitEstablished(n1.ipv6, 60_000);
    const [p4] = await frr.waitRoute('10.77.0.100/32');
    t.equal(p4?.valid, true);
    const d4 = (await detail('ipv4', '10.77.0.100/32'))[0]!;
    t.equal(d4.aspath?.string, '64500');
    t.equal(d4.metric, 50, 'MED');
    t.equal(d4.community?.string, '65000:100 65000:200', 'communities, sorted');
    t.equal(d4.largeCommunity?.string, '64500:1:2', 'large community');
    t.equal(d4.nexthops?.[0]?.ip, n1.ipv4, 'next hop is the node');
    await frr.waitRoute('fd00:77::100/128');
    const d6 = (await detail('ipv6', 'fd00:77::100/128'))[0]!;
    t.equal(d6.aspath?.string, '64500');
    t.equal(d6.metric, 50);
    t.equal(d6.community?.string, '65000:100 65000:200');
    t.equal(d6.largeCommunity?.string, '64500:1:2');
    t.ok(d6.nexthops?.some((nh) => nh.ip === n1.ipv6), 'global IPv6 next hop');
    t.ok(d6.nexthops?.some((nh) => nh.scope === 'link-local'), 'link-local next hop on the shared segment');
    const k4 = await frr.waitKernelRoute('10.77.0.100/32');
    t.equal(k4.gateway, n1.ipv4, 'installed in the router kernel via the node');
    await frr.waitKernelRoute('fd00:77::100/128');
  });

  t.test('withdraw and incremental add, no session reset', async (t) => {
    await frr.waitRoute('10.77.0.101/32');
    s1.setRoutes({ '10.77.0.101/32': {}, '10.77.0.110/32': { med: 7 } });
    await frr.waitRouteGone('10.77.0.100/32');
    await frr.waitRouteGone('fd00:77::100/128');
    await frr.waitRoute('10.77.0.110/32');
    t.equal((await detail('ipv4', '10.77.0.110/32'))[0]!.metric, 7, 'MED of the new route');
    t.ok((await frr.bgpTable('ipv4'))['10.77.0.101/32'], 'the unchanged route stayed');
    t.equal(s1.events.filter((e) => e.event === 'established').length, 2, 'each session established once');
    t.equal(s1.events.filter((e) => e.event === 'down').length, 0, 'never went down');
  });

  t.test('4-octet ASN, IPv6 routes over an IPv4 session', async (t) => {
    await frr.waitEstablished(n2.ipv4, 60_000);
    const n = await frr.neighbor(n2.ipv4);
    t.equal(n?.remoteAs, 4200000000);
    await frr.waitRoute('10.77.0.102/32');
    t.equal((await detail('ipv4', '10.77.0.102/32'))[0]!.aspath?.string, '4200000000');
    await frr.waitRoute('fd00:77::102/128');
    const d6 = (await detail('ipv6', 'fd00:77::102/128'))[0]!;
    t.ok(d6.nexthops?.some((nh) => nh.ip === n2.ipv6), 'IPv6 next hop from the same interface');
    t.ok(s2.events.some((e) => e.event === 'established'));
  });

  t.test('iBGP honours LOCAL_PREF', async (t) => {
    await frr.waitEstablished(n3.ipv4, 60_000);
    await frr.waitRoute('10.77.0.103/32');
    const d = (await detail('ipv4', '10.77.0.103/32'))[0]!;
    t.equal(d.locPrf, 250);
    t.equal(d.aspath?.length, 0, 'empty AS_PATH inside the AS');
    t.equal(d.peer?.type, 'internal');
    t.ok(s3.events.some((e) => e.event === 'established'));
  });

  t.test('TCP MD5: right key Established, wrong key never', async (t) => {
    await frr.waitEstablished(n4.ipv4, 60_000);
    await frr.waitRoute('10.77.0.104/32');
    t.ok(s4.events.some((e) => e.event === 'established'));
    // A wrong key is silent (the kernel drops the SYNs), so the only check is "not within N s";
    // by now node4 (right key) has long been up, so 4 s more is ample.
    await delay(4000);
    t.not((await frr.neighbor(n5.ipv4))?.bgpState, 'Established');
    t.notOk(s5.events.some((e) => e.event === 'established'), 'our side never established either');
    t.ok(s5.events.filter((e) => e.event === 'down').length >= 1, 'and keeps retrying');
  });
});
