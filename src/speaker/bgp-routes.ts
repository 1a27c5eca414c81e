/**
 * What a node advertises over BGP for its Services (docs/upstream-behaviour.md §5.3): per ingress
 * IP and per advertisement, the IP masked to the ad's aggregation length, with LOCAL_PREF and
 * communities, for the ad's peers (empty = all). Routes of all Services that share a prefix are
 * merged the way upstream merges them: the first LOCAL_PREF wins and communities are united and
 * re-sorted. Unlike upstream native mode, IPv6 prefixes and large communities are advertised.
 */
import { cidrOf } from '../net/cidr';
import { parseIp } from '../net/ip';
import type { BgpAdvertisement, Community } from '../config/types';

/** One advertisement produced by one Service. */
export interface ServiceRoute {
  readonly prefix: string;
  readonly localPref: number;
  readonly communities: readonly Community[];
  /** BGPPeer names; empty = every peer. */
  readonly peers: readonly string[];
}

/** Merged attributes of one prefix for one peer. */
export interface PeerRoute {
  readonly prefix: string;
  readonly localPref: number;
  readonly communities: readonly Community[];
}

/** Routes one Service produces on this node. */
export function serviceRoutes(ingressIps: readonly string[], ads: readonly BgpAdvertisement[]): ServiceRoute[] {
  const out: ServiceRoute[] = [];
  for (const ipText of ingressIps) {
    const ip = parseIp(ipText);
    if (!ip) continue;
    for (const ad of ads) {
      const len = ip.family === 4 ? ad.aggregationLength : ad.aggregationLengthV6;
      out.push({ prefix: cidrOf(ip.family, ip.value, len).cidr, localPref: ad.localPref, communities: ad.communities, peers: ad.peers });
    }
  }
  return out;
}

/** Upstream's order (§2.7): a standard A:B compares as the triple (A<<16|B, 0, 0). */
function communityTriple(c: Community): [number, number, number] {
  return c.kind === 'standard' ? [c.value, 0, 0] : [c.globalAdmin, c.localData1, c.localData2];
}

/** De-duplicate and sort communities in upstream's order. */
export function sortCommunities(list: Iterable<Community>): Community[] {
  const unique = new Map<string, Community>();
  for (const c of list) unique.set(`${c.kind}:${communityTriple(c).join(':')}`, c);
  return [...unique.values()].sort((a, b) => {
    const ta = communityTriple(a);
    const tb = communityTriple(b);
    return ta[0] - tb[0] || ta[1] - tb[1] || ta[2] - tb[2] || (a.kind === b.kind ? 0 : a.kind === 'standard' ? -1 : 1);
  });
}

/**
 * The route table one peer should hold: every Service route whose peers list is empty or names
 * the peer, merged per prefix. Iterating Services in a stable order keeps "first LOCAL_PREF wins"
 * deterministic.
 */
export function routesForPeer(peerName: string, routes: Iterable<ServiceRoute>): Map<string, PeerRoute> {
  const merged = new Map<string, { localPref: number; communities: Community[] }>();
  for (const r of routes) {
    if (r.peers.length > 0 && !r.peers.includes(peerName)) continue;
    const have = merged.get(r.prefix);
    if (have) have.communities.push(...r.communities);
    else merged.set(r.prefix, { localPref: r.localPref, communities: [...r.communities] });
  }
  const out = new Map<string, PeerRoute>();
  for (const [prefix, m] of merged) out.set(prefix, { prefix, localPref: m.localPref, communities: sortCommunities(m.communities) });
  return out;
}
