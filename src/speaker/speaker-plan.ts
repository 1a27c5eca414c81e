/**
 * The speaker's whole decision, pure (docs/upstream-behaviour.md §4.0 per-service flow): from a
 * snapshot of the cluster to what this node should do, namely which VIPs it may serve in L2 (with
 * their ranked candidates, for the Lease election) and which BGP routes it advertises to which
 * peer. It is recomputed level-triggered on every change; the shells diff its output against what
 * is running (election desires, adj-RIB-out), so an unchanged result costs nothing on the wire.
 */
import { rangeContains } from '../net/cidr';
import { canonicalIp, parseIp } from '../net/ip';
import type { Config, Peer, Pool } from '../config/types';
import { matchesAny } from '../config/selectors';
import { decideBgp, decideL2, type SkipReason } from './should-announce';
import { serviceRoutes, type ServiceRoute } from './bgp-routes';
import type { VipDesire } from './l2-election';
import type { EndpointView, NodeView, ServiceView } from './view';

/** Why a Service is not handled at all (upstream's withdraw reasons, §4.0). */
export const ServiceSkip = {
  NotLoadBalancer: 'notLoadBalancer',
  NoIpAllocated: 'noIPAllocated',
  InvalidIp: 'invalidIP',
  IpNotAllowed: 'ipNotAllowed',
  OtherClass: 'loadBalancerClass',
} as const;
export type ServiceSkip = (typeof ServiceSkip)[keyof typeof ServiceSkip];

/** A Service as the informer holds it (only what the speaker reads). */
export interface ServiceObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { type?: string; loadBalancerClass?: string; externalTrafficPolicy?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

/** Inputs of {@link planSpeaker}. */
export interface SpeakerSnapshot {
  readonly me: string;
  readonly config: Config;
  readonly nodes: ReadonlyMap<string, NodeView>;
  readonly services: readonly ServiceObject[];
  /** `namespace/name` -> endpoints from all its EndpointSlices. */
  readonly endpoints: ReadonlyMap<string, readonly EndpointView[]>;
  /** '' = Services without a loadBalancerClass (upstream's default). */
  readonly lbClass: string;
  readonly ignoreExcludeLB: boolean;
  readonly liveSpeakers: ReadonlySet<string>;
}

/** Per-Service outcome, for status objects, Events, metrics and logs. */
export interface ServicePlan {
  readonly key: string;
  readonly ips: readonly string[];
  readonly skip?: ServiceSkip;
  readonly l2?: { readonly ranked: readonly string[]; readonly interfaces: 'all' | readonly string[] } | { readonly skip: SkipReason };
  readonly bgp?: { readonly routes: readonly ServiceRoute[] } | { readonly skip: SkipReason };
}

/** The speaker's desired state. */
export interface SpeakerPlan {
  /** VIP -> candidates, for the Lease election (only VIPs this node is a candidate for, or may need to release). */
  readonly l2: Map<string, VipDesire>;
  /** Every BGP route this node advertises, tagged with its peers. */
  readonly bgpRoutes: ServiceRoute[];
  /** BGPPeers whose sessions should run on this node. */
  readonly peers: Peer[];
  readonly services: Map<string, ServicePlan>;
}

function toView(svc: ServiceObject, ips: string[]): ServiceView {
  return {
    namespace: svc.metadata?.namespace ?? '',
    name: svc.metadata?.name ?? '',
    labels: svc.metadata?.labels ?? {},
    annotations: svc.metadata?.annotations ?? {},
    externalTrafficPolicy: svc.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    ingressIps: ips,
  };
}

/** The pool holding every one of the IPs (upstream ignores avoidBuggyIPs here, §4.0 step 4). */
function poolFor(config: Config, ips: readonly string[]): Pool | undefined {
  const parsed = ips.map((ip) => parseIp(ip)!);
  for (const pool of config.pools.values()) {
    if (parsed.every((ip) => pool.cidrs.some((c) => rangeContains(c, ip)))) return pool;
  }
  return undefined;
}

function handlesClass(svc: ServiceObject, lbClass: string): boolean {
  const cls = svc.spec?.loadBalancerClass ?? '';
  return lbClass === '' ? cls === '' : cls === lbClass;
}

/** Peers selected for this node (empty selector list = every node, §5.1). */
export function peersForNode(config: Config, me: NodeView | undefined): Peer[] {
  return config.peers.filter((p) => p.nodeSelectors.length === 0 || matchesAny(p.nodeSelectors, me?.labels ?? {}));
}

/** Compute the speaker's desired state from a snapshot. */
export function planSpeaker(s: SpeakerSnapshot): SpeakerPlan {
  const l2 = new Map<string, { ranked: readonly string[]; interfaces: Set<string> | 'all' }>();
  const bgpRoutes: ServiceRoute[] = [];
  const services = new Map<string, ServicePlan>();
  // A stable order makes "first LOCAL_PREF wins" and the shared-IP ranking deterministic.
  const ordered = [...s.services].sort((a, b) => key(a).localeCompare(key(b)));
  for (const svc of ordered) {
    const k = key(svc);
    const raw = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
    if (svc.spec?.type !== 'LoadBalancer') continue;
    if (!handlesClass(svc, s.lbClass)) continue;
    if (raw.length === 0) {
      services.set(k, { key: k, ips: [], skip: ServiceSkip.NoIpAllocated });
      continue;
    }
    const ips = raw.map((ip) => canonicalIp(ip));
    if (ips.some((ip) => ip === undefined)) {
      services.set(k, { key: k, ips: raw, skip: ServiceSkip.InvalidIp });
      continue;
    }
    const canon = ips as string[];
    const pool = poolFor(s.config, canon);
    if (!pool) {
      services.set(k, { key: k, ips: canon, skip: ServiceSkip.IpNotAllowed });
      continue;
    }
    const input = { service: toView(svc, canon), pool, endpoints: s.endpoints.get(k) ?? [], nodes: s.nodes, thisNode: s.me, ignoreExcludeLB: s.ignoreExcludeLB };
    // Upstream order: BGP first, then Layer 2 (§4.0 step 6).
    const bgpDecision = decideBgp(input);
    const routes = bgpDecision.kind === 'announce' ? serviceRoutes(canon, bgpDecision.ads) : [];
    bgpRoutes.push(...routes);
    const l2Decision = decideL2(input, s.liveSpeakers);
    if (l2Decision.kind === 'candidates') {
      for (const ip of canon) {
        const have = l2.get(ip);
        if (!have) {
          l2.set(ip, { ranked: l2Decision.ranked, interfaces: l2Decision.interfaces === 'all' ? 'all' : new Set(l2Decision.interfaces) });
        } else if (have.interfaces !== 'all') {
          // A shared IP is served on the union of its Services' interfaces.
          if (l2Decision.interfaces === 'all') have.interfaces = 'all';
          else for (const i of l2Decision.interfaces) have.interfaces.add(i);
        }
      }
    }
    services.set(k, {
      key: k,
      ips: canon,
      bgp: bgpDecision.kind === 'announce' ? { routes } : { skip: bgpDecision.reason },
      l2: l2Decision.kind === 'candidates' ? { ranked: l2Decision.ranked, interfaces: l2Decision.interfaces } : { skip: l2Decision.reason },
    });
  }
  const l2Out = new Map<string, VipDesire>();
  for (const [ip, d] of l2) l2Out.set(ip, { ranked: d.ranked, interfaces: d.interfaces === 'all' ? 'all' : [...d.interfaces].sort() });
  return { l2: l2Out, bgpRoutes, peers: peersForNode(s.config, s.nodes.get(s.me)), services };
}

function key(svc: ServiceObject): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

/** A Service's namespace and name, from its plan key (`namespace/name`). */
export function serviceName(svc: ServicePlan): { readonly namespace: string; readonly name: string } {
  const [namespace = '', name = ''] = svc.key.split('/');
  return { namespace, name };
}

/** The BGP routes this node advertises for a Service; empty when it advertises none. */
export function bgpRoutesOf(svc: ServicePlan): readonly ServiceRoute[] {
  return svc.bgp && 'routes' in svc.bgp ? svc.bgp.routes : [];
}

/** True when this node is an L2 candidate for the Service (announces it once it holds an IP). */
function isL2Candidate(svc: ServicePlan): boolean {
  return svc.l2 !== undefined && 'ranked' in svc.l2;
}

/** One `metallb_speaker_announced` series: a Service this node announces, per protocol and IP. */
export interface AnnouncedSeries {
  readonly service: string;
  readonly protocol: 'bgp' | 'layer2';
  readonly ip: string;
}

/** Every series of the plan: BGP for each advertised Service, layer2 for each IP this node holds. */
export function announcedSeries(services: Iterable<ServicePlan>, heldIps: ReadonlySet<string>): AnnouncedSeries[] {
  const out: AnnouncedSeries[] = [];
  for (const svc of services) {
    const bgp = bgpRoutesOf(svc).length > 0;
    const l2 = isL2Candidate(svc);
    for (const ip of svc.ips) {
      if (bgp) out.push({ service: svc.key, protocol: 'bgp', ip });
      if (l2 && heldIps.has(ip)) out.push({ service: svc.key, protocol: 'layer2', ip });
    }
  }
  return out;
}
