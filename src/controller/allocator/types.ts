/**
 * Vocabulary of the allocator: what it is asked (an AllocRequest, the allocator's view of one
 * Service), what it answers (results as discriminated unions with upstream's error text), and
 * the per-pool counters it publishes. Shaped after upstream `internal/allocator`
 * (docs/upstream-behaviour.md §3.5-§3.6, §3.11-§3.12).
 */
import type { Labels } from '../../config/selectors';
import type { IpAddr, IpFamily } from '../../net/ip';

/** One (protocol, port) a Service exposes; sharing an IP requires disjoint sets (§3.6). */
export interface Port {
  /** Kubernetes protocol name as written in the Service (`TCP`, `UDP`, `SCTP`). */
  readonly protocol: string;
  readonly port: number;
}

/** Upstream's `Port.String()`: `TCP/80`. */
export function portString(p: Port): string {
  return `${p.protocol}/${p.port}`;
}

/** `spec.ipFamilyPolicy` values (Kubernetes core/v1). */
export const IpFamilyPolicy = {
  SingleStack: 'SingleStack',
  PreferDualStack: 'PreferDualStack',
  RequireDualStack: 'RequireDualStack',
} as const;
/** One `spec.ipFamilyPolicy` value. */
export type IpFamilyPolicy = (typeof IpFamilyPolicy)[keyof typeof IpFamilyPolicy];

/** Family of a Service (from its clusterIPs) or of a set of LB IPs, as upstream names them. */
export type ServiceFamily = 'ipv4' | 'ipv6' | 'dual';

/** Everything the allocator needs to know about one Service. */
export interface AllocRequest {
  /** `namespace/name`, the allocation key. */
  readonly key: string;
  readonly namespace: string;
  /** Service labels, matched by pool `serviceSelectors`. */
  readonly labels: Labels;
  /** Family from `spec.clusterIPs` (fallback `spec.clusterIP`). */
  readonly family: ServiceFamily;
  readonly policy: IpFamilyPolicy;
  /** 6 when `spec.ipFamilies[0]` is IPv6, else 4 (upstream's primary family for dual stack). */
  readonly primaryFamily: IpFamily;
  readonly ports: readonly Port[];
  /** allow-shared-ip value; '' means the Service does not share. */
  readonly sharingKey: string;
  /** '' for externalTrafficPolicy Cluster; canonical `spec.selector` string for Local. */
  readonly backendKey: string;
}

/** Stable codes for every allocator failure; messages carry upstream's exact text. */
export const AllocErrorCode = {
  /** `["<ip>"] is not allowed in config`: no single pool contains every requested IP. */
  NotInConfig: 'notInConfig',
  /** `pool <p> not compatible for ip assignment`: serviceAllocation excludes the Service. */
  PoolNotCompatible: 'poolNotCompatible',
  /** `more than two addresses [...]`. */
  TooManyAddresses: 'tooManyAddresses',
  /** `"<a>" "<b>" has the same family`. */
  SameFamily: 'sameFamily',
  /** `can't change sharing key for "<svc>", address also in use by <others>`. */
  SharingKeyConflict: 'sharingKeyConflict',
  /** `port <PROTO>/<port> is already in use on "<ip>"`. */
  PortConflict: 'portConflict',
  /** `no available IPs in pool <p> for <family> IPFamily`. */
  NoIpsForFamily: 'noIpsForFamily',
  /** `no suitable pool for <family> IPFamily`. */
  NoSuitablePool: 'noSuitablePool',
  /** `no available IPs`: automatic allocation found nothing in any pool. */
  NoAvailableIps: 'noAvailableIps',
  /** `unknown pool "<p>"`. */
  UnknownPool: 'unknownPool',
  /** `IP for wrong family assigned alloc <f> service family <f>`. */
  WrongFamily: 'wrongFamily',
  /** `unknown allocated IP Family unknown`. */
  UnknownAllocFamily: 'unknownAllocFamily',
} as const;
/** One allocator error code. */
export type AllocErrorCode = (typeof AllocErrorCode)[keyof typeof AllocErrorCode];

/**
 * An allocator failure. `message` is upstream's text (users and e2e tests match on it);
 * `detail` is our addition: why, in words, including which pools were considered.
 */
export interface AllocError {
  readonly code: AllocErrorCode;
  readonly message: string;
  readonly detail?: string;
}

/** Result of an allocator operation. */
export type AllocResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AllocError };

/** Success helper. */
export function ok<T>(value: T): AllocResult<T> {
  return { ok: true, value };
}

/** Failure helper. */
export function fail<T>(code: AllocErrorCode, message: string, detail?: string): AllocResult<T> {
  return { ok: false, error: detail === undefined ? { code, message } : { code, message, detail } };
}

/** The message to show a user: upstream's text, then our explanation in parentheses. */
export function allocErrorText(e: AllocError): string {
  return e.detail === undefined || e.detail === '' ? e.message : `${e.message} (${e.detail})`;
}

/** One Service's recorded allocation. */
export interface Allocation {
  readonly pool: string;
  readonly ips: readonly IpAddr[];
  readonly ports: readonly Port[];
  readonly sharingKey: string;
  readonly backendKey: string;
}

/**
 * Per-pool numbers for IPAddressPool status and the allocator metrics (§3.12). BigInt because
 * a pool with a CIDR of 2^62 addresses or more counts as MaxInt64, as upstream reports it.
 */
export interface PoolCounters {
  readonly assignedIPv4: bigint;
  readonly assignedIPv6: bigint;
  readonly availableIPv4: bigint;
  readonly availableIPv6: bigint;
  /** `metallb_allocator_addresses_total` (capacity, saturating at MaxInt64). */
  readonly total: bigint;
  readonly totalIPv4: bigint;
  readonly totalIPv6: bigint;
  /** `metallb_allocator_addresses_in_use_total` (distinct IPs, a shared IP counts once). */
  readonly inUse: bigint;
}

/** What a config change did to existing allocations (upstream `SetPools`, §3.8). */
export interface SetPoolsReport {
  /** Pools that disappeared: their metric series and status must go. */
  readonly removedPools: readonly string[];
  /** Every pool of the new config (counters refreshed). */
  readonly refreshedPools: readonly string[];
  /** Allocations dropped because no pool of the new config contains their IPs. */
  readonly released: readonly { readonly service: string; readonly ips: readonly IpAddr[]; readonly pool: string }[];
  /** Allocations whose IPs now belong to a differently named pool (rename or split). */
  readonly moved: readonly { readonly service: string; readonly from: string; readonly to: string }[];
}

/** Upstream's largest counter value (Go `math.MaxInt64`). */
export const MAX_INT64 = (1n << 63n) - 1n;
