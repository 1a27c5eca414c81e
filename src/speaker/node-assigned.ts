/**
 * Upstream's `nodeAssigned` Event on a Service ("announcing from node X with protocol Y"): for
 * layer2 when this node starts holding one of the Service's IPs, for BGP when the Service starts
 * being advertised from this node. Which Services get one is decided here; the shell records.
 */
import { bgpRoutesOf, type ServicePlan } from './speaker-plan';

/** The Event reason. */
export const NODE_ASSIGNED = 'nodeAssigned';

/** Upstream's message of the Event. */
export function nodeAssignedMessage(node: string, protocol: 'layer2' | 'bgp'): string {
  return `announcing from node "${node}" with protocol "${protocol}"`;
}

/** The Services that have `ip` among their IPs (several when the IP is shared). */
export function servicesWithIp(services: Iterable<ServicePlan>, ip: string): ServicePlan[] {
  const out: ServicePlan[] = [];
  for (const svc of services) if (svc.ips.includes(ip)) out.push(svc);
  return out;
}

/** {@link diffBgpAssigned}'s answer. */
export interface BgpAssignedDiff {
  /** Every Service (by key) advertised now: the `previous` of the next call. */
  readonly current: ReadonlySet<string>;
  /** Advertised now and not before: one `nodeAssigned` Event each, in plan order. */
  readonly assigned: readonly ServicePlan[];
  /** Advertised before and not now (logged). */
  readonly withdrawn: readonly string[];
}

/** Which Services started and stopped being advertised over BGP since `previous`. */
export function diffBgpAssigned(previous: ReadonlySet<string>, services: Iterable<ServicePlan>): BgpAssignedDiff {
  const current = new Set<string>();
  const assigned: ServicePlan[] = [];
  for (const svc of services) {
    if (bgpRoutesOf(svc).length === 0) continue;
    current.add(svc.key);
    if (!previous.has(svc.key)) assigned.push(svc);
  }
  const withdrawn = [...previous].filter((key) => !current.has(key));
  return { current, assigned, withdrawn };
}
