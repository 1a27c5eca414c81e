/**
 * Pure per-Service reconcile: upstream `convergeBalancer` plus the decisions of `SetBalancer`
 * (docs/upstream-behaviour.md §3.3), in the same order, with the same Events. It mutates only the
 * allocator it is given; the shell writes `services/status` and records the Events.
 *
 * Deliberate differences from upstream, each a fix:
 * - PreferDualStack grows to a second family only when the Service itself is dual-stack (two
 *   clusterIPs). Upstream also tries on single-stack clusters, and the second IP is then
 *   cleared again on the next pass (the LB family no longer matches the Service): status flaps.
 * - Status comparison looks at `ip`/`hostname` only, so fields the apiserver defaults (ipMode)
 *   do not cause a rewrite on every pass.
 * - AllocationFailed messages append, in parentheses, why each pool was not usable.
 */
import {
  Annotation,
  DEPRECATED_ANNOTATION_PREFIX,
  allocRequest,
  clusterIpList,
  desiredIps,
  familyPolicy,
  handlesLoadBalancerClass,
  requestedPool,
  serviceFamily,
} from './annotations';
import type { Allocator } from './allocator/allocator';
import { familyOfIps } from './allocator/allocator';
import { IpFamilyPolicy, allocErrorText, type AllocRequest, type AllocResult, type ServiceFamily } from './allocator/types';
import { formatIp, parseIp, type IpAddr } from '../net/ip';
import { goQuote, goQuoteList } from './go-quote';
import {
  EventReason,
  EventType,
  ReconcileOutcome,
  SyncResult,
  type IngressEntry,
  type ReconcileInput,
  type ReconcileOutput,
  type ServiceEvent,
  type ServiceView,
} from './service-reconcile-types';
import { AllocationConditionReason, type DesiredCondition } from './service-condition';

/** Mutable working copy of what convergeBalancer edits. */
interface Work {
  /** IPs currently held for the Service (upstream's `lbIPs`). */
  ips: IpAddr[];
  /** Desired status ingress; starts as the object's own, so a failure without clear keeps it. */
  ingress: readonly { readonly ip?: string; readonly hostname?: string }[];
  /** Desired ip-allocated-from-pool value; undefined = absent. */
  poolAnnotation: string | undefined;
  events: ServiceEvent[];
  /** Why no IP, when the reconcile failed: condition reason and the words for it. */
  pending: { reason: AllocationConditionReason; text: string } | undefined;
}

function event(w: Work, type: EventType, reason: EventReason, message: string): void {
  w.events.push({ type, reason, message });
}

/** Upstream `serviceFamilyChanged`. */
function familyChanged(lb: ServiceFamily | 'unknown', svc: ServiceFamily, policy: IpFamilyPolicy): boolean {
  if (lb === 'unknown') return true;
  if (lb === svc) return false;
  return !(svc === 'dual' && policy === IpFamilyPolicy.PreferDualStack);
}

function sameIps(a: readonly IpAddr[], b: readonly IpAddr[]): boolean {
  const fa = a.map(formatIp).sort();
  const fb = b.map(formatIp).sort();
  return fa.length === fb.length && fa.every((x, i) => x === fb[i]);
}

/** Upstream `allocateIPs`: explicit IPs, else the pool annotation, else automatic. */
function allocateIps(alloc: Allocator, key: string, svc: ServiceView): AllocResult<readonly IpAddr[]> | { ok: false; text: string } {
  const fam = serviceFamily(svc);
  if (!fam.ok) return { ok: false, text: fam.error };
  const desired = desiredIps(svc);
  if (!desired.ok) return { ok: false, text: desired.error };
  const req = allocRequest(key, svc, fam.value);
  const pool = requestedPool(svc);
  if (desired.value.ips.length > 0) {
    const quoted = goQuoteList(desired.value.ips);
    if (desired.value.family !== fam.value) {
      return { ok: false, text: `requested loadBalancer IP(s) ${quoted} does not match the ipFamily of the service` };
    }
    const r = alloc.assign(req, desired.value.ips);
    if (!r.ok) return r;
    if (pool !== '' && alloc.poolOf(key) !== pool) {
      alloc.unassign(key);
      return { ok: false, text: `requested loadBalancer IP(s) ${quoted} is not compatible with requested address pool ${pool}` };
    }
    return r;
  }
  if (pool !== '') return alloc.allocateFromPool(req, pool);
  return alloc.allocate(req);
}

/** Upstream `convergeBalancer`; returns false on failure (ErrConverge). */
function converge(alloc: Allocator, key: string, svc: ServiceView, w: Work): boolean {
  // Upstream `clearServiceState`: forget the allocation, the annotation and the status.
  const clear = (): void => {
    alloc.unassign(key);
    w.ips = [];
    w.ingress = [];
    w.poolAnnotation = undefined;
  };
  const spec = svc.spec ?? {};
  // 1. Not a LoadBalancer: drop any state it had as one, never allocate.
  if (spec.type !== 'LoadBalancer') {
    clear();
    return true;
  }
  // 2. Config loaded but empty: deleting every pool strips every LB IP (§10.8).
  if (!alloc.hasPools()) {
    clear();
    w.pending = { reason: AllocationConditionReason.NoIPAddressPool, text: 'no IPAddressPool is configured' };
    return false;
  }
  // 3. Without cluster IPs the family is unknowable.
  if ((spec.clusterIPs ?? []).length === 0 && (spec.clusterIP ?? '') === '') {
    clear();
    w.pending = { reason: AllocationConditionReason.NoClusterIP, text: 'the service has no clusterIP yet' };
    return false;
  }
  // 4. Current LB IPs from status; empty strings skipped, unparseable ones kept as invalid.
  const raw = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((s) => s !== '');
  const parsed = raw.map(parseIp);
  const policy = familyPolicy(svc);
  // 5. RequireDualStack needs two cluster IPs.
  const clusterIps = clusterIpList(svc);
  if (policy === IpFamilyPolicy.RequireDualStack && (spec.clusterIPs ?? []).length < 2) {
    event(w, EventType.Warning, EventReason.NotEnoughClusterIPs, `Service requires dual stack but not enough clusterips [${clusterIps.join(' ')}]`);
    clear();
    w.pending = { reason: AllocationConditionReason.NotEnoughClusterIPs, text: 'RequireDualStack but the service has fewer than two clusterIPs' };
    return false;
  }
  // 6. Family consistency between the LB IPs and the Service.
  if (parsed.length === 0) clear();
  else {
    const valid = parsed.every((p) => p !== undefined);
    let lbFamily: ServiceFamily | 'unknown' = 'unknown';
    const lbText = `[${raw.map((r, i) => goQuote(parsed[i] === undefined ? '<nil>' : r)).join(' ')}]`;
    const f = valid ? familyOfIps(parsed as IpAddr[]) : undefined;
    if (f?.ok) lbFamily = f.value;
    else {
      const err = f === undefined ? `IPFamilyForAddresses: Invalid address ${lbText}` : f.error.message;
      event(w, EventType.Warning, EventReason.NoLbIPsIPFamily, `Failed to retrieve LBIPs IPFamily for ${lbText}: ${err}`);
    }
    const svcFamily = serviceFamily(svc);
    if (!svcFamily.ok) {
      event(
        w,
        EventType.Warning,
        EventReason.NoClusterIPsIPFamily,
        `Failed to retrieve ClusterIPs IPFamily for ${goQuoteList(spec.clusterIPs ?? [])} ${spec.clusterIP ?? ''}: ${svcFamily.error}`,
      );
      w.pending = { reason: AllocationConditionReason.ClusterIPFamilyUnknown, text: svcFamily.error };
      return false;
    }
    w.ips = valid ? (parsed as IpAddr[]) : [];
    if (familyChanged(lbFamily, svcFamily.value, policy)) clear();
  }
  // 7. Re-claim the current IPs if the config still allows them and the user still wants them.
  let req: AllocRequest | undefined;
  if (w.ips.length > 0) {
    const fam = serviceFamily(svc);
    req = allocRequest(key, svc, fam.ok ? fam.value : 'ipv4');
    const r = alloc.assign(req, w.ips);
    if (!r.ok) {
      event(
        w,
        EventType.Normal,
        EventReason.ClearAssignment,
        `current IP for ${goQuote(key)} not allowed by config, will attempt for new IP assignment: ${allocErrorText(r.error)}`,
      );
      clear();
    }
    const pool = requestedPool(svc);
    if (w.ips.length > 0 && pool !== '' && alloc.poolOf(key) !== pool) clear();
    const desired = desiredIps(svc);
    if (!desired.ok) {
      event(w, EventType.Warning, EventReason.LoadBalancerFailed, `invalid requested loadbalancer IPs: ${desired.error}`);
      w.pending = { reason: AllocationConditionReason.InvalidRequestedIPs, text: `invalid requested loadbalancer IPs: ${desired.error}` };
      return false;
    }
    if (desired.value.ips.length > 0 && !sameIps(w.ips, desired.value.ips)) clear();
  }
  // 8. PreferDualStack with one IP: try the missing family from the same pool (see file comment).
  const svcFam = serviceFamily(svc);
  if (w.ips.length === 1 && policy === IpFamilyPolicy.PreferDualStack && svcFam.ok && svcFam.value === 'dual' && req !== undefined) {
    const r = alloc.allocateAdditionalFamily(req, w.ips[0] as IpAddr, alloc.poolOf(key) ?? '');
    if (!r.ok) {
      event(w, EventType.Normal, EventReason.AdditionalAssignFailed, `cannot assign additional IP in PreferDualStack: ${allocErrorText(r.error)}`);
    } else {
      w.ips.push(r.value);
      event(w, EventType.Normal, EventReason.IPAllocated, `Assigned additional IP ${goQuote(formatIp(r.value))}`);
    }
  }
  // 9. Nothing held: allocate.
  if (w.ips.length === 0) {
    const r = allocateIps(alloc, key, svc);
    if (!r.ok) {
      const text = 'text' in r ? r.text : allocErrorText(r.error);
      event(w, EventType.Warning, EventReason.AllocationFailed, `Failed to allocate IP for ${goQuote(key)}: ${text}`);
      w.pending = { reason: AllocationConditionReason.AllocationFailed, text };
      return false;
    }
    w.ips = [...r.value];
    event(w, EventType.Normal, EventReason.IPAllocated, `Assigned IP ${goQuoteList(w.ips)}`);
  }
  // 10. Sanity checks kept from upstream (unreachable unless the allocator is broken).
  const pool = alloc.poolOf(key);
  if (pool === undefined || alloc.poolByName(pool) === undefined) {
    event(w, EventType.Warning, EventReason.InternalError, 'allocated an IP that has no pool');
    clear();
    return false;
  }
  // 11. Status carries only `ip`, in allocation order; the annotation names the pool.
  w.ingress = w.ips.map((ip) => ({ ip: formatIp(ip) }));
  w.poolAnnotation = pool;
  return true;
}

/** The `metallb.io/IPAllocated` condition of a LoadBalancer Service (src/controller/service-condition.ts). */
function allocationCondition(
  ingress: readonly IngressEntry[],
  pool: string | undefined,
  reason: AllocationConditionReason | undefined,
  pendingReason: string | undefined,
): DesiredCondition {
  if (ingress.length > 0) {
    const from = pool === undefined ? '' : ` from pool ${goQuote(pool)}`;
    return { status: 'True', reason: AllocationConditionReason.IPAllocated, message: `Assigned IP ${goQuoteList(ingress.map((i) => i.ip))}${from}` };
  }
  return { status: 'False', reason: reason ?? AllocationConditionReason.AllocationFailed, message: pendingReason ?? 'no IP allocated' };
}

function ingressOf(svc: ServiceView): { ip?: string; hostname?: string }[] {
  return [...(svc.status?.loadBalancer?.ingress ?? [])];
}

/**
 * Reconcile one Service against the allocator (upstream `SetBalancer` + `convergeBalancer`).
 * Deterministic given the allocator state and the input.
 */
export function reconcileService(alloc: Allocator, input: ReconcileInput): ReconcileOutput {
  const { key, service } = input;
  const untouched = (outcome: ReconcileOutcome, result: SyncResult, svc?: ServiceView): ReconcileOutput => ({
    outcome,
    result,
    events: [],
    write: false,
    ingress: (svc === undefined ? [] : ingressOf(svc)).filter((i) => i.ip !== undefined).map((i) => ({ ip: i.ip as string })),
    annotations: { ...(svc?.metadata?.annotations ?? {}) },
    allocatedFromPool: svc?.metadata?.annotations?.[Annotation.IPAllocatedFromPool],
    pendingReason: undefined,
    condition: undefined,
  });
  if (service === undefined) {
    // Deleted: a freed IP may satisfy a Service that is waiting.
    return untouched(ReconcileOutcome.Deleted, alloc.unassign(key) ? SyncResult.ReprocessAll : SyncResult.Success);
  }
  if (!handlesLoadBalancerClass(service, input.loadBalancerClass) || !input.configLoaded) {
    return untouched(ReconcileOutcome.Ignored, SyncResult.Success, service);
  }
  const before = alloc.allocationOf(key);
  const prevIps = before?.ips ?? [];
  const current = ingressOf(service);
  const oldPool = service.metadata?.annotations?.[Annotation.IPAllocatedFromPool];
  const w: Work = { ips: [], ingress: current, poolAnnotation: oldPool, events: [], pending: undefined };
  let result: SyncResult = converge(alloc, key, service, w) ? SyncResult.Success : SyncResult.ErrorNoRetry;

  const after = alloc.allocationOf(key);
  const ingress: IngressEntry[] = w.ingress.filter((i) => i.ip !== undefined).map((i) => ({ ip: i.ip as string }));
  const pool = w.poolAnnotation;
  const annotations: Record<string, string> = { ...(service.metadata?.annotations ?? {}) };
  if (pool === undefined) delete annotations[Annotation.IPAllocatedFromPool];
  else annotations[Annotation.IPAllocatedFromPool] = pool;

  // Compare ip/hostname only: the apiserver defaults ipMode, which must not force a rewrite.
  const statusChanged =
    w.ingress !== current &&
    (current.length !== w.ingress.length || current.some((c, i) => c.ip !== w.ingress[i]?.ip || (c.hostname ?? '') !== (w.ingress[i]?.hostname ?? '')));
  const write = statusChanged || oldPool !== pool;

  // Changing the sharing or backend key may let a waiting Service share with this one.
  if (before !== undefined && after !== undefined && (before.sharingKey !== after.sharingKey || before.backendKey !== after.backendKey)) {
    result = SyncResult.ReprocessAll;
  }
  if (write) {
    for (const k of Object.keys(service.metadata?.annotations ?? {}).sort()) {
      if (k.startsWith(DEPRECATED_ANNOTATION_PREFIX)) {
        w.events.push({ type: EventType.Warning, reason: EventReason.DeprecatedAnnotation, message: `Service uses deprecated annotation ${k}` });
      }
    }
    // Released IPs that are still inside a pool may unblock another Service.
    if (prevIps.length > 0 && after === undefined && alloc.poolForIps(prevIps) !== undefined) result = SyncResult.ReprocessAll;
  }
  const isLb = service.spec?.type === 'LoadBalancer';
  const pendingReason = isLb && ingress.length === 0 ? (w.pending?.text ?? 'no IP allocated') : undefined;
  return {
    outcome: ReconcileOutcome.Converged,
    result,
    events: w.events,
    write,
    ingress,
    annotations,
    allocatedFromPool: pool,
    pendingReason,
    condition: isLb ? allocationCondition(ingress, pool, w.pending?.reason, pendingReason) : null,
  };
}
