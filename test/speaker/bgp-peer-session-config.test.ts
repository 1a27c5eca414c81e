// From a BGPPeer object to the BGP session the speaker opens: the FRR-mode fields that the config
// layer accepts (dynamicASN, localASN, dualStackAddressFamily, disableMP) reach the session
// options unchanged in meaning (docs/bgp.md "FRR-mode peer settings").
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { sessionConfig } from '../../src/speaker/bgp-peers';
import { DUAL_STACK_FAMILIES, IPV4_UNICAST, IPV6_UNICAST } from '../../src/bgp/families';
import { configOf, goodPeer, peer } from '../fixtures/manifests/objects';

const sessionOf = (spec: Record<string, unknown>) => {
  const cfg = configOf(parseConfig({ peers: [peer('p', spec)] }));
  const p = cfg.peers[0];
  if (!p) throw new Error(`peer disabled: ${JSON.stringify([...cfg.disabledPeers])}`);
  return sessionConfig(p, '10.0.0.9');
};

t.test('families: own family by default, both with dualStackAddressFamily', async (t) => {
  t.same(sessionOf(goodPeer())?.families, [IPV4_UNICAST], 'IPv4 peer: IPv4 only');
  t.same(sessionOf(goodPeer({ peerAddress: 'fd00:77::1' }))?.families, [IPV6_UNICAST], 'IPv6 peer: IPv6 only');
  t.same(sessionOf(goodPeer({ dualStackAddressFamily: true }))?.families, DUAL_STACK_FAMILIES, 'dual stack');
  t.same(sessionOf(goodPeer({ disableMP: true }))?.families, [IPV4_UNICAST], 'disableMP changes nothing (upstream ignores it)');
});

t.test('dynamicASN and localASN', async (t) => {
  t.match(sessionOf(goodPeer({ peerASN: undefined, dynamicASN: 'external' })), { peerAsn: 'external', localAsn: 64500 });
  t.match(sessionOf(goodPeer({ peerASN: undefined, dynamicASN: 'internal' })), { peerAsn: 'internal', localAsn: 64500 });
  t.match(sessionOf(goodPeer({ localASN: 65010 })), { peerAsn: 64501, localAsn: 65010 }, 'the peer sees localASN, never myASN');
});

t.test('interface (unnumbered): no session until the router is known, then both families to its link-local', async (t) => {
  const cfg = configOf(parseConfig({ peers: [peer('p', goodPeer({ peerAddress: undefined, interface: 'eth0' }))] }));
  const p = cfg.peers[0]!;
  t.equal(sessionConfig(p, '10.0.0.9'), undefined, 'no RA yet');
  t.match(sessionConfig(p, '10.0.0.9', 'fe80::1%eth0'), { peerAddress: 'fe80::1%eth0', interface: 'eth0', families: DUAL_STACK_FAMILIES, peerAsn: 64501 });
});
