// Single-hop eBGP peers off the node's subnets are warned about (src/speaker/peer-reachability.ts).
import t from 'tap';
import { isSingleHopEbgp, offLinkEbgpPeers, peerNotConnectedMessage, type ReachabilityFields } from '../../src/speaker/peer-reachability';
import { DynamicAsn } from '../../src/bgp/peer-as';

/** The node's prefixes as os.networkInterfaces() reports them: lo, eth0 (both families), a VIP. */
const NODE = ['127.0.0.1/8', '::1/128', '10.77.0.11/24', 'fd00:77::11/64', 'fe80::11/64', '10.77.0.200/32'];

function peer(name: string, o: Partial<ReachabilityFields> = {}): ReachabilityFields {
  return { name, myASN: 64500, peerASN: 64501, dynamicASN: undefined, localASN: undefined, address: '10.77.0.1', ebgpMultiHop: false, ...o };
}

t.test('which sessions are single-hop eBGP', async (t) => {
  const table: Array<[string, Partial<ReachabilityFields>, boolean]> = [
    ['eBGP', {}, true],
    ['eBGP with ebgpMultiHop', { ebgpMultiHop: true }, false],
    ['iBGP', { peerASN: 64500 }, false],
    ['dynamicASN external', { peerASN: 0, dynamicASN: DynamicAsn.External }, true],
    ['dynamicASN internal', { peerASN: 0, dynamicASN: DynamicAsn.Internal }, false],
    ['localASN equal to the peer AS: iBGP whatever myASN is', { localASN: 64501 }, false],
    ['localASN other than the peer AS: eBGP even if myASN equals it', { myASN: 64501, localASN: 64510 }, true],
    ['localASN 0 is unset', { peerASN: 64500, localASN: 0 }, false],
  ];
  for (const [name, o, want] of table) t.equal(isSingleHopEbgp(peer('p', o)), want, name);
});

t.test('off-link single-hop eBGP peers, and only those', async (t) => {
  const peers = [
    peer('on-link-v4'),
    peer('on-link-v6', { address: 'fd00:77::1' }),
    peer('link-local', { address: 'fe80::1' }),
    peer('loopback', { address: '127.0.0.1' }),
    peer('unnumbered', { address: undefined }),
    peer('off-link-v4', { address: '10.78.0.1' }),
    peer('off-link-v6', { address: 'fd00:78::1' }),
    peer('off-link-dynamic', { address: '192.0.2.1', peerASN: 0, dynamicASN: DynamicAsn.External }),
    peer('off-link-multihop', { address: '10.78.0.1', ebgpMultiHop: true }),
    peer('off-link-ibgp', { address: '10.78.0.1', peerASN: 64500 }),
    // The node's own VIP /32 is an interface prefix too: no special case needed.
    peer('vip', { address: '10.77.0.200' }),
  ];
  const got = offLinkEbgpPeers('node1', peers, NODE);
  t.same([...got.keys()], ['off-link-v4', 'off-link-v6', 'off-link-dynamic']);
  t.equal(got.get('off-link-v4'), peerNotConnectedMessage('node1', '10.78.0.1'));
  t.match(got.get('off-link-v6'), /^eBGP peer fd00:78::1 is not on a connected subnet of node node1 and ebgpMultiHop is false: /);
  t.match(got.get('off-link-v4'), /set ebgpMultiHop: true/, 'says what to do');
});

t.test('no interfaces known: every single-hop eBGP peer but link-local is off-link; junk prefixes are ignored', async (t) => {
  const peers = [peer('v4'), peer('ll', { address: 'fe80::1' })];
  t.same([...offLinkEbgpPeers('n', peers, []).keys()], ['v4']);
  t.same([...offLinkEbgpPeers('n', peers, ['nonsense', '10.77.0.11/33', '10.77.0.11/24']).keys()], [], 'the one valid prefix still counts');
});
