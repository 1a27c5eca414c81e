/**
 * Unnumbered peering against FRR 8.4: FRR has `neighbor br0 interface remote-as external`, we
 * have `interface: eth0` and no address. We learn FRR's link-local from its RAs, FRR learns ours
 * from our lifetime-0 RA, the session runs between the two link-local addresses with RFC 8950
 * Extended Next Hop, and FRR installs our IPv4 /32 with our IPv6 link-local as next hop.
 */
import t from 'tap';
import { createLab } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import { sessionConfig, startSpeaker } from '../fixtures/bgp/speaker-driver';
import { DUAL_STACK_FAMILIES } from '../../src/bgp/families';

t.test('unnumbered session to FRR carries IPv4 routes with a link-local next hop', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'unnumbered' });
  t.teardown(() => lab.destroy());
  const node = lab.nodes[0]!;
  const frr = await startFrr(lab, {
    asn: 64501,
    routerId: '10.77.0.1',
    bgpExtra: [
      ' neighbor br0 interface remote-as external',
      ' neighbor br0 timers connect 1',
      ' address-family ipv4 unicast',
      '  neighbor br0 activate',
      ' exit-address-family',
      ' address-family ipv6 unicast',
      '  neighbor br0 activate',
      ' exit-address-family',
    ].join('\n'),
  });
  const config = sessionConfig({ peerAddress: '', interface: 'eth0', localAsn: 64500, peerAsn: 64501, routerId: node.ipv4, families: [...DUAL_STACK_FAMILIES] });
  const speaker = startSpeaker(lab, node.ns, [{ id: 'unnumbered', config }], { '10.77.0.150/32': {}, 'fd00:77::150/128': {} });
  t.teardown(() => speaker.kill('SIGTERM'));
  const up = await speaker.waitEvent('the unnumbered session to reach Established', (e) => e.event === 'established', 30_000);
  t.equal((up.negotiated as { extendedNextHopIpv4?: boolean }).extendedNextHopIpv4, true, 'Extended Next Hop negotiated');
  const n = await frr.waitEstablished('br0', 30_000);
  t.equal(n.bgpState, 'Established', 'FRR sees its interface neighbor Established');
  // Our link-local on the node's eth0, which FRR must use as the next hop.
  const addrs = JSON.parse(await lab.run(node.ns, ['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0'])) as Array<{
    addr_info?: Array<{ local: string; scope: string }>;
  }>;
  const ourLinkLocal = addrs.flatMap((a) => a.addr_info ?? []).find((a) => a.scope === 'link')?.local;
  t.match(ourLinkLocal, /^fe80:/, 'the node has a link-local address');
  const paths = await frr.waitRoute('10.77.0.150/32', (p) => p.some((x) => x.valid === true), 20_000);
  const hops = paths.flatMap((p) => p.nexthops ?? []);
  t.ok(
    hops.some((h) => h.afi === 'ipv6' && h.ip === ourLinkLocal) || hops.some((h) => h.ip === ourLinkLocal),
    `FRR's BGP path for the IPv4 /32 has our link-local next hop (${JSON.stringify(hops)})`,
  );
  const zebra = JSON.parse(await frr.vtysh('show ip route 10.77.0.150/32 json')) as Record<
    string,
    Array<{ installed?: boolean; nexthops: Array<{ afi?: string; ip?: string; interfaceName?: string; active?: boolean }> }>
  >;
  const route = zebra['10.77.0.150/32']?.[0];
  t.equal(route?.installed, true, 'zebra installed the IPv4 /32');
  t.ok(
    route?.nexthops.some((h) => h.afi === 'ipv6' && h.ip === ourLinkLocal && h.interfaceName === 'br0'),
    `zebra's next hop is our IPv6 link-local on br0 (${JSON.stringify(route?.nexthops)})`,
  );
  await frr.waitRoute('fd00:77::150/128', (p) => p.some((x) => x.valid === true), 20_000);
  t.pass('the IPv6 route arrives over the same session');
});
