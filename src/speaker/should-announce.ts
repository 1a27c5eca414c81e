/**
 * Who announces a Service, as pure functions over the speaker's view
 * (docs/upstream-behaviour.md §4.2 and §5.2). Reasons are a discriminated `as const` catalogue with
 * upstream's names, so logs and metrics read like upstream's.
 *
 * L2 differs from upstream on purpose: upstream elects statelessly from memberlist membership;
 * we compute the same ranked candidate list (same eligibility rules, same hash) and the Lease
 * decides who owns the IP (docs/architecture.md §7), so two speakers with different views can never
 * both answer.
 */
import { matchesAny, type LabelMatcher } from '../config/selectors';
import type { BgpAdvertisement, L2Advertisement, Pool } from '../config/types';
import { rankCandidates } from './election';
import { ALLOW_SHARED_IP_KEYS, EXCLUDE_LB_LABEL, hasUsableEndpoint, type EndpointView, type NodeView, type ServiceView } from './view';

/** Why a node does not announce a Service (upstream's reason strings). */
export const SkipReason = {
  NotOwner: 'notOwner',
  NoMatchingAdvertisement: 'noMatchingAdvertisement',
  SharedIpWithServiceSelector: 'sharedIPWithServiceSelector',
  ConflictingAdvertisements: 'conflictingAdvertisements',
  NodeNetworkUnavailable: 'nodeNetworkUnavailable',
  NodeLabeledExcludeBalancers: 'nodeLabeledExcludeBalancers',
  NoLocalEndpoints: 'noLocalEndpoints',
  NoEndpoints: 'noEndpoints',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** Inputs shared by both protocols. */
export interface DecisionInput {
  readonly service: ServiceView;
  readonly pool: Pool;
  readonly endpoints: readonly EndpointView[];
  readonly nodes: ReadonlyMap<string, NodeView>;
  readonly thisNode: string;
  readonly ignoreExcludeLB: boolean;
}

/** The L2 outcome: the ranked candidates (the Lease picks the live owner among them). */
export type L2Decision =
  | {
      readonly kind: 'candidates';
      /** Eligible nodes with a live speaker, best first. */
      readonly ranked: readonly string[];
      /** This node is among them. */
      readonly thisNodeEligible: boolean;
      /** Interfaces this node would announce on: 'all' or the union of its ads' interfaces. */
      readonly interfaces: 'all' | readonly string[];
      readonly ads: readonly L2Advertisement[];
    }
  | { readonly kind: 'skip'; readonly reason: SkipReason };

function serviceMatches(selectors: readonly LabelMatcher[], svc: ServiceView): boolean {
  return selectors.length === 0 || matchesAny(selectors, svc.labels);
}

function excluded(node: NodeView, ignoreExcludeLB: boolean): boolean {
  if (node.networkUnavailable) return true;
  return !ignoreExcludeLB && Object.prototype.hasOwnProperty.call(node.labels, EXCLUDE_LB_LABEL);
}

/**
 * L2 eligibility and ranking (upstream §4.2 steps 1-8). `liveSpeakers` replaces memberlist: nodes
 * whose speaker presence Lease is fresh.
 */
export function decideL2(input: DecisionInput, liveSpeakers: ReadonlySet<string>): L2Decision {
  const { service, pool, endpoints, nodes, thisNode } = input;
  if (!hasUsableEndpoint(endpoints)) return { kind: 'skip', reason: SkipReason.NotOwner };
  const ads = pool.l2Advertisements.filter((ad) => serviceMatches(ad.serviceSelectors, service));
  const shared = ALLOW_SHARED_IP_KEYS.some((k) => k in service.annotations);
  if (shared && ads.some((ad) => ad.serviceSelectors.length > 0)) return { kind: 'skip', reason: SkipReason.SharedIpWithServiceSelector };
  const myAds = ads.filter((ad) => ad.nodes.has(thisNode));
  let candidates = [...liveSpeakers].filter((name) => {
    const node = nodes.get(name);
    return node !== undefined && !excluded(node, input.ignoreExcludeLB) && ads.some((ad) => ad.nodes.has(name));
  });
  if (service.externalTrafficPolicy === 'Local') {
    candidates = candidates.filter((name) => hasUsableEndpoint(endpoints, name));
  }
  if (candidates.length === 0) {
    return { kind: 'skip', reason: myAds.length === 0 ? SkipReason.NoMatchingAdvertisement : SkipReason.NotOwner };
  }
  const scores = new Map<string, number>();
  for (const name of candidates) {
    const node = nodes.get(name);
    let score = 0;
    // An advertisement's preferences weigh only the nodes it selects (§2.5: "for each node already
    // eligible by nodeSelectors"); a node in another advertisement is not preferred by this one.
    for (const ad of ads) {
      if (!ad.nodes.has(name)) continue;
      for (const p of ad.preferredNodeSelectors) if (matchesAny([p.preference], node?.labels)) score += p.weight;
    }
    scores.set(name, score);
  }
  const firstIp = service.ingressIps[0] ?? '';
  const ranked = rankCandidates(candidates, firstIp, scores);
  const interfaces: 'all' | string[] = myAds.some((ad) => ad.allInterfaces) || myAds.length === 0 ? 'all' : [...new Set(myAds.flatMap((ad) => ad.interfaces))].sort();
  return { kind: 'candidates', ranked, thisNodeEligible: ranked.includes(thisNode), interfaces, ads: myAds };
}

/** The BGP outcome for this node. */
export type BgpDecision = { readonly kind: 'announce'; readonly ads: readonly BgpAdvertisement[] } | { readonly kind: 'skip'; readonly reason: SkipReason };

/** BGP eligibility of this node (upstream §5.2, reasons in upstream's order). Every qualifying node advertises (ECMP). */
export function decideBgp(input: DecisionInput): BgpDecision {
  const { service, pool, endpoints, nodes, thisNode } = input;
  const forNode = pool.bgpAdvertisements.filter((ad) => ad.nodes.has(thisNode));
  if (forNode.length === 0) return { kind: 'skip', reason: SkipReason.NotOwner };
  const ads = forNode.filter((ad) => ad.serviceSelectors.length === 0 || matchesAny(ad.serviceSelectors, service.labels));
  if (ads.length === 0) return { kind: 'skip', reason: SkipReason.NoMatchingAdvertisement };
  if (!localPrefsCompatible(ads, pool)) return { kind: 'skip', reason: SkipReason.ConflictingAdvertisements };
  const node = nodes.get(thisNode);
  if (node?.networkUnavailable) return { kind: 'skip', reason: SkipReason.NodeNetworkUnavailable };
  if (node && !input.ignoreExcludeLB && Object.prototype.hasOwnProperty.call(node.labels, EXCLUDE_LB_LABEL)) {
    return { kind: 'skip', reason: SkipReason.NodeLabeledExcludeBalancers };
  }
  if (service.externalTrafficPolicy === 'Local' && !hasUsableEndpoint(endpoints, thisNode)) return { kind: 'skip', reason: SkipReason.NoLocalEndpoints };
  if (!hasUsableEndpoint(endpoints)) return { kind: 'skip', reason: SkipReason.NoEndpoints };
  return { kind: 'announce', ads };
}

/**
 * Upstream's pairwise LOCAL_PREF compatibility (docs/upstream-behaviour.md §2.6 check 2, re-run per
 * Service at announce time because serviceSelectors are only known then): two ads are compatible
 * when they agree on localPref, or their aggregation lengths differ for every family the pool has,
 * or both name peers and the lists are disjoint, or their node sets are disjoint.
 */
function localPrefsCompatible(ads: readonly BgpAdvertisement[], pool: Pool): boolean {
  const v4 = pool.cidrs.some((c) => c.family === 4);
  const v6 = pool.cidrs.some((c) => c.family === 6);
  if (!v4 && !v6) return true;
  for (let i = 0; i < ads.length; i++) {
    for (let j = i + 1; j < ads.length; j++) {
      const a = ads[i]!;
      const b = ads[j]!;
      if (a.localPref === b.localPref) continue;
      const aggDiffers = (!v4 || a.aggregationLength !== b.aggregationLength) && (!v6 || a.aggregationLengthV6 !== b.aggregationLengthV6);
      const peersDisjoint = a.peers.length > 0 && b.peers.length > 0 && !a.peers.some((p) => b.peers.includes(p));
      const nodesDisjoint = ![...a.nodes].some((n) => b.nodes.has(n));
      if (!aggDiffers && !peersDisjoint && !nodesDisjoint) return false;
    }
  }
  return true;
}
