/**
 * The config-time check for single-hop eBGP peers. Our eBGP sockets leave with TTL 1 unless
 * `ebgpMultiHop` is set (src/bgp/session-config.ts), so a peer behind a router never sees our
 * SYN; upstream native mode used the kernel's default TTL and reached it. Upstream FRR mode is as
 * strict as we are: FRR's connected check does not even open an IPv4 single-hop eBGP session to
 * an address off the node's subnets, and for IPv6 its template adds `disable-connected-check`
 * but keeps TTL 1 (`neighborsession.tmpl`, `mustDisableConnectedCheck` in
 * `internal/bgp/frr/frr.go` of metallb/metallb). The peer still gets its session (the address may
 * be the router's loopback one hop away, which TTL 1 reaches), but the user is told why it may
 * never come up. Pure: the node's subnets are passed in.
 */
import type { Peer } from '../config/types';
import { isIbgp } from '../bgp/peer-as';
import { parseCidr, rangeContains, type IpCidr } from '../net/cidr';
import { parseIp, type IpAddr } from '../net/ip';

/** Event reason and log event of a single-hop eBGP peer off the node's subnets. */
export const PEER_NOT_CONNECTED = 'peerNotConnected';

/** IPv6 link-local (fe80::/10): on-link by definition, whatever the interfaces' prefixes say. */
const LINK_LOCAL_V6 = parseCidr('fe80::/10') as IpCidr;

/** The warning for one peer: which address, which node, and what to do about it. */
export function peerNotConnectedMessage(node: string, address: string): string {
  return (
    `eBGP peer ${address} is not on a connected subnet of node ${node} and ebgpMultiHop is false: ` +
    'the session is single-hop (TTL 1), so a router between the node and the peer drops it, ' +
    'as in upstream FRR mode; set ebgpMultiHop: true if the peer is more than one hop away'
  );
}

/** The parts of a BGPPeer the check reads. */
export type ReachabilityFields = Pick<Peer, 'name' | 'myASN' | 'peerASN' | 'dynamicASN' | 'localASN' | 'address' | 'ebgpMultiHop'>;

/** True when the session to `peer` is single-hop eBGP, the only kind sent with TTL 1. */
export function isSingleHopEbgp(peer: ReachabilityFields): boolean {
  if (peer.ebgpMultiHop) return false;
  const localAsn = peer.localASN !== undefined && peer.localASN !== 0 ? peer.localASN : peer.myASN;
  return !isIbgp(localAsn, peer.dynamicASN ?? peer.peerASN);
}

function onConnectedSubnet(ip: IpAddr, subnets: readonly IpCidr[]): boolean {
  return rangeContains(LINK_LOCAL_V6, ip) || subnets.some((s) => rangeContains(s, ip));
}

/**
 * Single-hop eBGP peers whose address lies on none of `connected` (the node's interface
 * prefixes as `ip/len`; unparsable entries are ignored): peer name -> the warning text.
 * Unnumbered (`interface`) peers are on-link by construction and never listed.
 */
export function offLinkEbgpPeers(node: string, peers: readonly ReachabilityFields[], connected: readonly string[]): Map<string, string> {
  const subnets = connected.map((c) => parseCidr(c)).filter((c): c is IpCidr => c !== undefined);
  const out = new Map<string, string>();
  for (const peer of peers) {
    if (peer.address === undefined || !isSingleHopEbgp(peer)) continue;
    const ip = parseIp(peer.address);
    if (ip === undefined || onConnectedSubnet(ip, subnets)) continue;
    out.set(peer.name, peerNotConnectedMessage(node, peer.address));
  }
  return out;
}
