/**
 * The ServiceL2Status and ServiceBGPStatus objects this node should have, computed from the plan
 * (and, for L2, the VIPs it holds now); `StatusWriter` (status-objects.ts) converges the objects.
 * Upstream writes them from the same facts: a Service this node announces in L2, with the
 * interfaces it answers on, and a Service it advertises over BGP, with the peers that get it.
 */
import type { DesiredStatuses } from './status-objects';
import type { Peer } from '../config/types';
import { bgpRoutesOf, serviceName, type ServicePlan } from './speaker-plan';

/** ServiceL2Status: each L2 Service with an IP this node holds; `interfaces` is [] for all of them. */
export function l2Statuses(services: Iterable<ServicePlan>, heldIps: ReadonlySet<string>, node: string): DesiredStatuses {
  const desired: DesiredStatuses = new Map();
  for (const svc of services) {
    if (!svc.ips.some((ip) => heldIps.has(ip)) || !svc.l2 || !('ranked' in svc.l2)) continue;
    const { namespace, name } = serviceName(svc);
    const interfaces = svc.l2.interfaces === 'all' ? [] : svc.l2.interfaces.map((iface) => ({ name: iface }));
    desired.set(svc.key, { node, serviceName: name, serviceNamespace: namespace, interfaces });
  }
  return desired;
}

/**
 * ServiceBGPStatus: each Service this node advertises, with the BGPPeers among this node's
 * `sessions` its routes go to (a route naming no peer goes to every one), sorted; none when no
 * session gets it.
 */
export function bgpStatuses(services: Iterable<ServicePlan>, sessions: readonly Pick<Peer, 'name'>[], node: string): DesiredStatuses {
  const desired: DesiredStatuses = new Map();
  for (const svc of services) {
    const routes = bgpRoutesOf(svc);
    if (routes.length === 0) continue;
    const peers = sessions
      .filter((p) => routes.some((r) => r.peers.length === 0 || r.peers.includes(p.name)))
      .map((p) => p.name)
      .sort();
    if (peers.length === 0) continue;
    const { namespace, name } = serviceName(svc);
    desired.set(svc.key, { node, serviceName: name, serviceNamespace: namespace, peers });
  }
  return desired;
}
