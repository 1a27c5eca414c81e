/**
 * Address families per session, as upstream FRR mode activates them: the peer address's own
 * family by default, both with dualStackAddressFamily. Checked in the OPEN's bytes (only that
 * Multiprotocol capability), in negotiation, and in what the Adj-RIB-out sends.
 */
import t from 'tap';
import { addressFamily, DUAL_STACK_FAMILIES, IPV4_UNICAST, IPV6_UNICAST, sessionFamilies } from '../../src/bgp/families';
import { buildOpen, negotiate } from '../../src/bgp/fsm';
import type { FsmConfig, Negotiated } from '../../src/bgp/fsm';
import { encode } from '../../src/bgp/codec';
import type { Capability, OpenMessage } from '../../src/bgp/codec';
import { fullSync } from '../../src/bgp/adj-rib-out';
import type { RibContext } from '../../src/bgp/adj-rib-out';
import { fsmConfig } from '../../src/bgp/session-config';
import type { BgpSessionConfig } from '../../src/bgp/session-config';

const base: BgpSessionConfig = {
  peerAddress: '10.77.0.1',
  peerAsn: 64501,
  localAsn: 64500,
  routerId: '10.77.0.11',
  holdTimeSec: 90,
  connectTimeSec: 10,
  ebgpMultiHop: false,
};

t.test('sessionFamilies: own family, or both with dualStackAddressFamily', async (t) => {
  t.same(sessionFamilies('10.77.0.1', false), [IPV4_UNICAST]);
  t.same(sessionFamilies('fd00:77::1', false), [IPV6_UNICAST]);
  t.same(sessionFamilies('10.77.0.1', true), [IPV4_UNICAST, IPV6_UNICAST]);
  t.same(sessionFamilies('fd00:77::1', true), [IPV4_UNICAST, IPV6_UNICAST], 'IPv4 first either way');
  t.same(addressFamily('::ffff:10.0.0.1'), IPV4_UNICAST, 'an IPv4-mapped address is IPv4, as Go To4()');
  t.same(addressFamily('FE80::1'), IPV6_UNICAST);
  t.same(DUAL_STACK_FAMILIES, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
});

t.test('the session default is the peer address family, not both', async (t) => {
  t.same(fsmConfig(base).families, [IPV4_UNICAST]);
  t.same(fsmConfig({ ...base, peerAddress: 'fd00:77::1' }).families, [IPV6_UNICAST]);
  t.same(fsmConfig({ ...base, families: [...DUAL_STACK_FAMILIES] }).families, DUAL_STACK_FAMILIES, 'explicit families win');
});

/**
 * Our OPEN for a family set (no graceful restart), written out octet by octet: header, version,
 * My AS 64500, hold 90, BGP identifier 10.77.0.11, then one Capabilities parameter (RFC 5492)
 * holding the MP capabilities (code 1, length 4: AFI, reserved, SAFI; RFC 4760 §8), route
 * refresh (code 2, length 0) and the 4-octet AS (code 65, length 4).
 */
function expectedOpen(afis: number[]): string {
  const mp = afis.map((afi) => `01 04 ${afi.toString(16).padStart(4, '0')} 00 01`);
  const caps = [...mp, '02 00', '41 04 0000fbf4'].join(' ').replace(/ /g, '');
  const param = `02 ${(caps.length / 2).toString(16).padStart(2, '0')} ${caps}`.replace(/ /g, '');
  const body = `04 fbf4 005a 0a4d000b ${(param.length / 2).toString(16).padStart(2, '0')} ${param}`.replace(/ /g, '');
  const length = 19 + body.length / 2;
  return `${'ff'.repeat(16)}${length.toString(16).padStart(4, '0')}01${body}`;
}

function openHex(families: FsmConfig['families']): string {
  const cfg = fsmConfig({ ...base, families });
  return encode(buildOpen({ ...cfg, gracefulRestart: undefined }, false)).toString('hex');
}

t.test('OPEN on the wire: one Multiprotocol capability per negotiated family', async (t) => {
  t.equal(openHex([IPV4_UNICAST]), expectedOpen([1]), 'IPv4 peer: MP capability AFI 1 SAFI 1 only');
  t.equal(
    openHex([IPV4_UNICAST]),
    'ffffffffffffffffffffffffffffffff002d0104fbf4005a0a4d000b10020e010400010001020041040000fbf4',
    'the builder agrees with a literal vector',
  );
  t.equal(openHex([IPV6_UNICAST]), expectedOpen([2]), 'IPv6 peer: MP capability AFI 2 SAFI 1 only');
  t.equal(openHex([...DUAL_STACK_FAMILIES]), expectedOpen([1, 2]), 'dual stack: both, IPv4 first');
  t.equal(
    encode(buildOpen({ ...fsmConfig({ ...base, peerAddress: 'fd00:77::1' }), gracefulRestart: undefined }, false)).toString('hex'),
    expectedOpen([2]),
    'the default for an IPv6 peer address',
  );
});

const peerOpen = (caps: Capability[]): OpenMessage => ({
  type: 1,
  version: 4,
  myAs: 64501,
  holdTimeSec: 9,
  bgpIdentifier: '10.77.0.1',
  capabilities: [...caps, { kind: 'fourOctetAs', asn: 64501 }],
});
const bothMp: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'multiprotocol', afi: 2, safi: 1 },
];

t.test('negotiation keeps only our families, whatever the peer offers', async (t) => {
  const v4 = negotiate(fsmConfig(base), peerOpen(bothMp)) as Negotiated;
  t.same(v4.families, [IPV4_UNICAST]);
  const v6 = negotiate(fsmConfig({ ...base, peerAddress: 'fd00:77::1' }), peerOpen(bothMp)) as Negotiated;
  t.same(v6.families, [IPV6_UNICAST]);
  const dualVsV4Peer = negotiate(fsmConfig({ ...base, families: [...DUAL_STACK_FAMILIES] }), peerOpen([bothMp[0]!])) as Negotiated;
  t.same(dualVsV4Peer.families, [IPV4_UNICAST], 'dual stack against a peer that activated IPv4 only');
  const noMp = negotiate(fsmConfig({ ...base, peerAddress: 'fd00:77::1' }), peerOpen([])) as Negotiated;
  t.same(noMp.families, [], 'IPv6 session, peer without MP (IPv4 only, RFC 4760 §8): nothing in common');
});

t.test('only routes of the negotiated families are sent; End-of-RIB per family', async (t) => {
  const ctx = (families: RibContext['families']): RibContext => ({
    families,
    localAsn: 64500,
    ibgp: false,
    fourOctetAs: true,
    nextHopIpv4: '10.77.0.11',
    nextHopsIpv6: ['fd00:77::11'],
  });
  const routes = new Map([
    ['10.77.0.100/32', {}],
    ['fd00:77::100/128', {}],
  ]);
  const v4 = fullSync(routes, ctx([IPV4_UNICAST]));
  t.same([...v4.advertised.keys()], ['10.77.0.100/32']);
  t.same(v4.skipped, ['fd00:77::100/128']);
  t.equal(v4.updates.length, 2, 'one UPDATE and one End-of-RIB');
  const v6 = fullSync(routes, ctx([IPV6_UNICAST]));
  t.same([...v6.advertised.keys()], ['fd00:77::100/128']);
  t.same(v6.skipped, ['10.77.0.100/32']);
  const dual = fullSync(routes, ctx([...DUAL_STACK_FAMILIES]));
  t.same([...dual.advertised.keys()].sort(), ['10.77.0.100/32', 'fd00:77::100/128']);
  t.equal(dual.updates.length, 4, 'two UPDATEs, two End-of-RIBs');
});
