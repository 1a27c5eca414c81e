/**
 * Startup: re-adopt every assignment recorded in Service status before anything new is
 * allocated, so a controller restart or failover changes no IP (docs/upstream-behaviour.md §11.11).
 * Upstream gets close by processing Services with more ingress entries first, but a Service whose
 * stale IP is rejected is then re-allocated in the same pass and can take an address a later
 * Service still holds. Here claiming is a separate phase that allocates nothing; the normal
 * reconcile pass runs after it.
 *
 * Two Services claiming one address (possible after a split brain of two controllers, or a
 * hand-edited status) are decided deterministically: the oldest creationTimestamp wins, then
 * the `namespace/name` order; the loser is reported and re-allocated by its reconcile.
 */
import {
  allocRequest,
  desiredIps,
  familyPolicy,
  handlesLoadBalancerClass,
  requestedPool,
  serviceFamily,
  serviceKey,
} from './annotations';
import type { Allocator } from './allocator/allocator';
import { familyOfIps } from './allocator/allocator';
import { AllocErrorCode, IpFamilyPolicy, allocErrorText } from './allocator/types';
import { formatIp, parseIp, type IpAddr } from '../net/ip';
import type { ServiceView } from './service-reconcile-types';

/** What the startup adoption did. */
export interface AdoptionReport {
  /** Assignments re-claimed exactly as recorded in status. */
  readonly adopted: readonly { readonly service: string; readonly ips: readonly string[]; readonly pool: string }[];
  /** Services that lost an address to an older claimant; their reconcile will re-allocate. */
  readonly conflicts: readonly {
    readonly service: string;
    readonly ips: readonly string[];
    readonly heldBy: readonly string[];
    readonly reason: string;
  }[];
  /** Recorded IPs the current config or the Service itself no longer allows. */
  readonly dropped: readonly { readonly service: string; readonly ips: readonly string[]; readonly reason: string }[];
}

function createdMs(svc: ServiceView): number {
  const c = svc.metadata?.creationTimestamp;
  if (c === undefined) return Number.POSITIVE_INFINITY;
  const ms = c instanceof Date ? c.getTime() : Date.parse(c);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Oldest first, then by key: the deterministic order that decides conflicts. */
export function byAge(a: ServiceView, b: ServiceView): number {
  const d = createdMs(a) - createdMs(b);
  if (d !== 0 && !Number.isNaN(d)) return d < 0 ? -1 : 1;
  const ka = serviceKey(a);
  const kb = serviceKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function statusIps(svc: ServiceView): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((s) => s !== '');
}

/**
 * Order for a reprocess-all pass: Services holding IPs first (more entries first, as upstream),
 * then oldest first. After `adoptExistingAssignments` the order no longer decides who keeps an
 * address, but it still gives pending Services their IPs in a stable order.
 */
export function reprocessOrder<S extends ServiceView>(services: readonly S[]): S[] {
  return [...services].sort((a, b) => statusIps(b).length - statusIps(a).length || byAge(a, b));
}

/**
 * Claim, in age order, the IPs every handled LoadBalancer Service already shows in its status,
 * with the same checks the reconcile's re-claim step applies (docs/upstream-behaviour.md §3.3
 * steps 4-7), and without allocating anything new. Call after `setPools` and before any reconcile.
 */
export function adoptExistingAssignments(alloc: Allocator, services: readonly ServiceView[], loadBalancerClass: string): AdoptionReport {
  const adopted: { service: string; ips: string[]; pool: string }[] = [];
  const conflicts: { service: string; ips: string[]; heldBy: string[]; reason: string }[] = [];
  const dropped: { service: string; ips: string[]; reason: string }[] = [];
  const candidates = services
    .filter((s) => s.spec?.type === 'LoadBalancer' && handlesLoadBalancerClass(s, loadBalancerClass) && statusIps(s).length > 0)
    .sort(byAge);
  for (const svc of candidates) {
    const key = serviceKey(svc);
    const raw = statusIps(svc);
    const drop = (reason: string): void => {
      dropped.push({ service: key, ips: raw, reason });
    };
    const parsed = raw.map(parseIp);
    if (parsed.some((p) => p === undefined)) {
      drop('status holds an unparseable IP');
      continue;
    }
    const ips = parsed as IpAddr[];
    const lbFamily = familyOfIps(ips);
    const svcFamily = serviceFamily(svc);
    if (!lbFamily.ok || !svcFamily.ok) {
      drop(!lbFamily.ok ? lbFamily.error.message : svcFamily.ok ? '' : svcFamily.error);
      continue;
    }
    const policy = familyPolicy(svc);
    if (policy === IpFamilyPolicy.RequireDualStack && (svc.spec?.clusterIPs ?? []).length < 2) {
      drop('RequireDualStack with fewer than two clusterIPs');
      continue;
    }
    if (lbFamily.value !== svcFamily.value && !(svcFamily.value === 'dual' && policy === IpFamilyPolicy.PreferDualStack)) {
      drop(`status family ${lbFamily.value} does not match the service family ${svcFamily.value}`);
      continue;
    }
    const desired = desiredIps(svc);
    if (desired.ok && desired.value.ips.length > 0) {
      const want = desired.value.ips.map(formatIp).sort();
      const have = ips.map(formatIp).sort();
      if (want.join(',') !== have.join(',')) {
        drop(`the service now requests ${want.join(',')}`);
        continue;
      }
    }
    const r = alloc.assign(allocRequest(key, svc, svcFamily.value), ips);
    if (!r.ok) {
      if (r.error.code === AllocErrorCode.SharingKeyConflict || r.error.code === AllocErrorCode.PortConflict) {
        const heldBy = [...new Set(ips.flatMap((ip) => alloc.holdersOf(ip)))].sort();
        conflicts.push({ service: key, ips: raw, heldBy, reason: allocErrorText(r.error) });
      } else drop(allocErrorText(r.error));
      continue;
    }
    const pool = alloc.poolOf(key) ?? '';
    const wantedPool = requestedPool(svc);
    if (wantedPool !== '' && wantedPool !== pool) {
      alloc.unassign(key);
      drop(`the service now requests pool ${wantedPool}`);
      continue;
    }
    adopted.push({ service: key, ips: raw, pool });
  }
  return { adopted, conflicts, dropped };
}
