/**
 * The speaker's read-only view of the cluster, built by the shell from informer caches and handed
 * to the pure decision functions. Plain data only, so every decision is unit-testable.
 */

/** A Node as the speaker needs it. */
export interface NodeView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The NetworkUnavailable condition is True. */
  readonly networkUnavailable: boolean;
}

/** One endpoint of a Service (from EndpointSlices). */
export interface EndpointView {
  readonly nodeName: string | undefined;
  /** Upstream's EndpointCanServe: ready unset or true, or serving true (docs/upstream-behaviour.md §4.0). */
  readonly usable: boolean;
  readonly addressCount: number;
}

/** A LoadBalancer Service as the speaker needs it. */
export interface ServiceView {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  /** Canonical texts of status.loadBalancer.ingress[].ip, in order. */
  readonly ingressIps: readonly string[];
}

/** The label that excludes a node from external load balancers (upstream honours it). */
export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** Keys whose mere presence marks a Service as sharing its IP (new and legacy). */
export const ALLOW_SHARED_IP_KEYS = ['metallb.io/allow-shared-ip', 'metallb.universe.tf/allow-shared-ip'] as const;

/** Upstream's EndpointCanServe over a list (some usable endpoint with an address). */
export function hasUsableEndpoint(endpoints: readonly EndpointView[], onNode?: string): boolean {
  return endpoints.some((e) => e.usable && e.addressCount > 0 && (onNode === undefined || e.nodeName === onNode));
}
