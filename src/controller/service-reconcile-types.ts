/**
 * Inputs and outputs of the pure Service reconcile. `ServiceView` is the subset of a core/v1
 * Service the controller reads; @kubernetes/client-node's `V1Service` is assignable to it, so
 * the shell passes informer objects straight in.
 */
import type { DesiredCondition, ServiceCondition } from './service-condition';

/** The fields of a Service the controller reads. */
export interface ServiceView {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly labels?: { readonly [key: string]: string };
    readonly annotations?: { readonly [key: string]: string };
    readonly creationTimestamp?: Date | string;
  };
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly ipFamilies?: readonly string[];
    readonly ipFamilyPolicy?: string;
    readonly loadBalancerIP?: string;
    readonly loadBalancerClass?: string;
    readonly ports?: readonly { readonly protocol?: string; readonly port: number }[];
    readonly externalTrafficPolicy?: string;
    readonly selector?: { readonly [key: string]: string };
  };
  readonly status?: {
    readonly loadBalancer?: {
      readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[];
    };
    readonly conditions?: readonly ServiceCondition[];
  };
}

/** Event types as Kubernetes spells them. */
export const EventType = { Normal: 'Normal', Warning: 'Warning' } as const;
/** One Event type. */
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Event reasons, exactly upstream's (docs/upstream-behaviour.md §3.10); users and tests match on them. */
export const EventReason = {
  IPAllocated: 'IPAllocated',
  AllocationFailed: 'AllocationFailed',
  ClearAssignment: 'ClearAssignment',
  LoadBalancerFailed: 'LoadBalancerFailed',
  AdditionalAssignFailed: 'AdditionalAssignFailed',
  NotEnoughClusterIPs: 'not enough clusterips',
  NoLbIPsIPFamily: 'nolbIPsIPFamily',
  NoClusterIPsIPFamily: 'noclusterIPsIPFamily',
  InternalError: 'InternalError',
  DeprecatedAnnotation: 'deprecatedAnnotation',
} as const;
/** One Event reason. */
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/** An Event to record on the Service (reporting component `metallb-controller`). */
export interface ServiceEvent {
  readonly type: EventType;
  readonly reason: EventReason;
  readonly message: string;
}

/**
 * What the queue should do next, as upstream's SyncState: `errorNoRetry` waits for the next
 * watched change; `reprocessAll` re-runs every Service (a freed IP may unblock a pending one).
 * A failed status write is the shell's business (it retries with backoff).
 */
export const SyncResult = {
  Success: 'success',
  ErrorNoRetry: 'errorNoRetry',
  ReprocessAll: 'reprocessAll',
} as const;
/** One SyncResult value. */
export type SyncResult = (typeof SyncResult)[keyof typeof SyncResult];

/** One `status.loadBalancer.ingress` entry as the controller writes it (only `ip`). */
export interface IngressEntry {
  readonly ip: string;
}

/** Input of `reconcileService`. */
export interface ReconcileInput {
  /** `namespace/name`. */
  readonly key: string;
  /** The latest object from the informer cache; undefined when the Service was deleted. */
  readonly service: ServiceView | undefined;
  /** `--lb-class` (Helm `loadBalancerClass`); '' handles only Services without a class. */
  readonly loadBalancerClass: string;
  /**
   * True once a pool configuration has been accepted (even one with zero pools). Before that,
   * Services are left alone, as upstream does while it waits for its config.
   */
  readonly configLoaded: boolean;
}

/** How the reconcile ended. */
export const ReconcileOutcome = {
  /** Not ours (loadBalancerClass) or no config yet: nothing computed, nothing to write. */
  Ignored: 'ignored',
  /** The Service is gone; its allocation (if any) was released. */
  Deleted: 'deleted',
  /** Converged; `write` says whether status/annotations must be written. */
  Converged: 'converged',
} as const;
/** One outcome. */
export type ReconcileOutcome = (typeof ReconcileOutcome)[keyof typeof ReconcileOutcome];

/** Output of `reconcileService`. */
export interface ReconcileOutput {
  readonly outcome: ReconcileOutcome;
  readonly result: SyncResult;
  readonly events: readonly ServiceEvent[];
  /** True when status or annotations differ from the object read: one `services/status` UPDATE. */
  readonly write: boolean;
  /** Desired `status.loadBalancer.ingress` (empty = cleared). */
  readonly ingress: readonly IngressEntry[];
  /** Desired full annotation map (the status UPDATE carries metadata too, §10.20). */
  readonly annotations: Readonly<Record<string, string>>;
  /** Desired `metallb.io/ip-allocated-from-pool`, undefined when it must be absent. */
  readonly allocatedFromPool: string | undefined;
  /** When a LoadBalancer Service ends without an IP: why, in words (our addition). */
  readonly pendingReason: string | undefined;
  /**
   * The `metallb.io/IPAllocated` condition the Service should carry: null when it must be absent
   * (not a LoadBalancer), undefined when the Service is not ours to touch (ignored or deleted).
   * Not part of `write`: the shell merges it with the object's conditions and writes on change.
   */
  readonly condition: DesiredCondition | null | undefined;
}
