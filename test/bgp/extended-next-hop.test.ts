/**
 * RFC 8950 Extended Next Hop for unnumbered (`interface`) peers: advertised in our OPEN,
 * negotiated only when both sides list IPv4 unicast over IPv6, and then IPv4 routes go out in
 * MP_REACH_NLRI (AFI 1) with the IPv6 next hops instead of a NEXT_HOP attribute.
 */
import t from 'tap';
import { buildOpen, negotiate } from '../../src/bgp/fsm';
import type { Negotiated } from '../../src/bgp/fsm';
import type { Capability, OpenMessage } from '../../src/bgp/codec';
import { fullSync } from '../../src/bgp/adj-rib-out';
import type { RibContext } from '../../src/bgp/adj-rib-out';
import { DUAL_STACK_FAMILIES } from '../../src/bgp/families';
import { localNextHops } from '../../src/bgp/next-hop';
import type { InterfaceTable } from '../../src/bgp/next-hop';
import { fsmConfig } from '../../src/bgp/session-config';
import type { BgpSessionConfig } from '../../src/bgp/session-config';

const unnumbered: BgpSessionConfig = {
  peerAddress: 'fe80::77:ff:fe00:1%eth0',
  interface: 'eth0',
  peerAsn: 'external',
  localAsn: 64500,
  routerId: '10.77.0.11',
  holdTimeSec: 90,
  connectTimeSec: 10,
  ebgpMultiHop: false,
  families: [...DUAL_STACK_FAMILIES],
};
const enhe: Capability = { kind: 'extendedNextHop', tuples: [{ afi: 1, safi: 1, nextHopAfi: 2 }] };
const peerOpen = (caps: Capability[]): OpenMessage => ({
  type: 1,
  version: 4,
  myAs: 64501,
  holdTimeSec: 9,
  bgpIdentifier: '10.77.0.1',
  capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'multiprotocol', afi: 2, safi: 1 }, ...caps, { kind: 'fourOctetAs', asn: 64501 }],
});

t.test('an interface peer advertises Extended Next Hop for IPv4 over IPv6; others do not', async (t) => {
  const caps = buildOpen(fsmConfig(unnumbered), false).capabilities;
  t.same(
    caps.filter((c) => c.kind === 'extendedNextHop'),
    [enhe],
  );
  const { interface: _i, ...numbered } = unnumbered;
  t.notOk(
    buildOpen(fsmConfig({ ...numbered, peerAddress: 'fd00:77::1' }), false).capabilities.some((c) => c.kind === 'extendedNextHop'),
    'a numbered peer keeps its OPEN as before',
  );
});

t.test('negotiated only when both sides list the IPv4/IPv6 tuple', async (t) => {
  t.equal((negotiate(fsmConfig(unnumbered), peerOpen([enhe])) as Negotiated).extendedNextHopIpv4, true);
  t.equal((negotiate(fsmConfig(unnumbered), peerOpen([])) as Negotiated).extendedNextHopIpv4, undefined, 'peer without it');
  const otherTuple: Capability = { kind: 'extendedNextHop', tuples: [{ afi: 1, safi: 128, nextHopAfi: 2 }] };
  t.equal((negotiate(fsmConfig(unnumbered), peerOpen([otherTuple])) as Negotiated).extendedNextHopIpv4, undefined, 'VPN tuple only');
  const { interface: _i, ...numbered } = unnumbered;
  t.equal((negotiate(fsmConfig(numbered), peerOpen([enhe])) as Negotiated).extendedNextHopIpv4, undefined, 'we did not offer it');
});

const ctx: RibContext = {
  families: [...DUAL_STACK_FAMILIES],
  localAsn: 64500,
  ibgp: false,
  fourOctetAs: true,
  nextHopsIpv6: ['fe80::77:ff:fe00:b'],
  ipv4ViaIpv6: true,
};

t.test('IPv4 routes go in MP_REACH_NLRI AFI 1 with the IPv6 next hops', async (t) => {
  const plan = fullSync(new Map([['10.77.0.100/32', {}], ['fd00:77::100/128', {}]]), ctx);
  t.same(plan.skipped, []);
  const v4 = plan.updates.find((u) => u.attributes.mpReach?.afi === 1)!;
  t.ok(v4, 'an IPv4 MP_REACH');
  t.same(v4.attributes.mpReach, { afi: 1, safi: 1, nextHops: ['fe80::77:ff:fe00:b'], nlri: ['10.77.0.100/32'] });
  t.equal(v4.attributes.nextHop, undefined, 'no NEXT_HOP attribute (RFC 8950 §4)');
  t.same(v4.nlri, [], 'nothing in the classic NLRI field');
  const v6 = plan.updates.find((u) => u.attributes.mpReach?.afi === 2)!;
  t.same(v6.attributes.mpReach!.nlri, ['fd00:77::100/128']);
  // Without the capability and without an IPv4 next hop, IPv4 routes are not sendable.
  const plain = fullSync(new Map([['10.77.0.100/32', {}]]), { ...ctx, ipv4ViaIpv6: undefined });
  t.same(plain.skipped, ['10.77.0.100/32']);
  // With both an IPv4 next hop and the capability, the IPv6 one is used (as FRR does on unnumbered).
  const both = fullSync(new Map([['10.77.0.100/32', {}]]), { ...ctx, nextHopIpv4: '10.77.0.11' });
  t.equal(both.updates[0]!.attributes.mpReach?.afi, 1);
});

t.test('a link-local session with no global address uses the link-local next hop alone', async (t) => {
  const table: InterfaceTable = {
    eth0: [{ address: 'fe80::77:ff:fe00:b', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:77:00:00:00:0b', internal: false, cidr: 'fe80::77:ff:fe00:b/64', scopeid: 2 }],
  };
  t.same(localNextHops('fe80::77:ff:fe00:b%eth0', 'fe80::77:ff:fe00:1%eth0', {}, table), { ipv6: ['fe80::77:ff:fe00:b'] });
  const withGlobal: InterfaceTable = {
    eth0: [...table.eth0!, { address: 'fd00:77::11', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:77:00:00:00:0b', internal: false, cidr: 'fd00:77::11/64', scopeid: 0 }],
  };
  t.same(localNextHops('fe80::77:ff:fe00:b', 'fe80::77:ff:fe00:1%eth0', {}, withGlobal).ipv6, ['fd00:77::11', 'fe80::77:ff:fe00:b'], 'global then link-local');
});
