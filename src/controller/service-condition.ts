/**
 * Why a Service has (or lacks) a LoadBalancer IP, kept on the Service itself as a
 * `status.conditions` entry. Events say the same but expire after an hour (the apiserver's
 * default `--event-ttl`); a condition stays until the situation changes, as Cilium's LB-IPAM
 * keeps `cilium.io/IPAMRequestSatisfied`. Upstream MetalLB writes no condition; this is ours
 * (docs/controller.md, "The IPAllocated condition").
 *
 * Pure: the reconcile says what the condition should say ({@link DesiredCondition}); the shell
 * merges it into the object's list with {@link mergeServiceCondition} and the current time.
 */

/** The condition type; prefixed with our API group so it cannot collide with another controller's. */
export const IP_ALLOCATED_CONDITION = 'metallb.io/IPAllocated';

/**
 * Condition reasons (metav1.Condition: CamelCase, no spaces). `IPAllocated` goes with True,
 * every other one with False.
 */
export const AllocationConditionReason = {
  IPAllocated: 'IPAllocated',
  /** No IPAddressPool exists (or none is valid). */
  NoIPAddressPool: 'NoIPAddressPool',
  /** The Service has no clusterIP yet, so its family is unknown. */
  NoClusterIP: 'NoClusterIP',
  /** RequireDualStack with a single clusterIP. */
  NotEnoughClusterIPs: 'NotEnoughClusterIPs',
  /** The clusterIPs' family cannot be determined. */
  ClusterIPFamilyUnknown: 'ClusterIPFamilyUnknown',
  /** `spec.loadBalancerIP` or the loadBalancerIPs annotation is malformed. */
  InvalidRequestedIPs: 'InvalidRequestedIPs',
  /** No pool could give an address (exhausted, unknown pool, selectors, sharing...). */
  AllocationFailed: 'AllocationFailed',
} as const;
/** One condition reason. */
export type AllocationConditionReason = (typeof AllocationConditionReason)[keyof typeof AllocationConditionReason];

/** What the reconcile wants the condition to say. */
export interface DesiredCondition {
  readonly status: 'True' | 'False';
  readonly reason: AllocationConditionReason;
  readonly message: string;
}

/** A metav1.Condition as it appears in `status.conditions` (other controllers' entries included). */
export interface ServiceCondition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

/** The apiserver rejects messages over 32768 bytes (metav1.Condition validation); keep well below. */
const MAX_MESSAGE_CHARS = 4096;

/**
 * The condition list with ours set to `desired` (or removed when `desired` is null), other
 * types kept in place; `undefined` when nothing changes, so the caller writes only on change.
 * lastTransitionTime moves only when the status flips, as the metav1.Condition contract says.
 */
export function mergeServiceCondition(
  existing: readonly ServiceCondition[] | undefined,
  desired: DesiredCondition | null,
  nowIso: string,
): ServiceCondition[] | undefined {
  const list = existing ?? [];
  const idx = list.findIndex((c) => c.type === IP_ALLOCATED_CONDITION);
  const old = idx >= 0 ? list[idx] : undefined;
  if (desired === null) return old === undefined ? undefined : list.filter((_, i) => i !== idx);
  const message = desired.message.length > MAX_MESSAGE_CHARS ? `${desired.message.slice(0, MAX_MESSAGE_CHARS - 3)}...` : desired.message;
  if (old !== undefined && old.status === desired.status && old.reason === desired.reason && old.message === message) return undefined;
  const next: ServiceCondition = {
    type: IP_ALLOCATED_CONDITION,
    status: desired.status,
    reason: desired.reason,
    message,
    lastTransitionTime: old !== undefined && old.status === desired.status ? old.lastTransitionTime : nowIso,
  };
  return old === undefined ? [...list, next] : list.map((c, i) => (i === idx ? next : c));
}

/** RFC 3339 with second precision, as metav1.Time serialises (the apiserver drops fractions). */
export function conditionTime(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}
