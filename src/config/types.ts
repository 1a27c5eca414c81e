/**
 * The validated, internal form of a MetalLB configuration: what `parseConfig` produces from the
 * metallb.io objects (plus the Secrets, Nodes and Namespaces they refer to). Shaped after
 * upstream's `internal/config.Config` (docs/upstream-behaviour.md §2) so allocator and speaker code
 * can be reasoned about side by side with upstream. Everything here is plain immutable data: no
 * methods, no references back into Kubernetes objects.
 */
import type { IpCidr } from '../net/cidr';
import type { IpFamily } from '../net/ip';
import type { LabelMatcher } from './selectors';

/**
 * One entry of `spec.addresses` as written by the user and the CIDRs it expanded to. Kept
 * because upstream's BGP aggregation check works per original entry (§2.6 per-pool check 1).
 */
export interface PoolAddressEntry {
  readonly raw: string;
  readonly family: IpFamily | undefined;
  readonly cidrs: readonly IpCidr[];
}

/** `spec.serviceAllocation` after resolution (upstream `ServiceAllocation`). */
export interface ServiceAllocation {
  /** Lower positive number = higher priority; 0 = lowest (after every positive priority). */
  readonly priority: number;
  /** Explicit `namespaces` merged with namespaces matched by `namespaceSelectors` at parse time. */
  readonly namespaces: ReadonlySet<string>;
  /**
   * Service selectors (OR). When namespaces, namespaceSelectors and serviceSelectors are all
   * empty, upstream installs one match-everything selector here; so do we (§2.4).
   */
  readonly serviceSelectors: readonly LabelMatcher[];
}

/** A validated IPAddressPool. */
export interface Pool {
  readonly name: string;
  /** The pool object's labels, matched by `ipAddressPoolSelectors`. */
  readonly labels: Readonly<Record<string, string>>;
  /** All CIDRs in `addresses` order; a range contributes its covering CIDRs in ascending order. */
  readonly cidrs: readonly IpCidr[];
  /** The original `addresses` entries with their expansion. */
  readonly addresses: readonly PoolAddressEntry[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  /** Undefined when the pool has no `serviceAllocation` (a "generic" pool, §3.5 C.2). */
  readonly serviceAllocation: ServiceAllocation | undefined;
  /** L2Advertisements attached to this pool (deduplicated like upstream, §2.5). */
  readonly l2Advertisements: readonly L2Advertisement[];
  /** BGPAdvertisements attached to this pool, in attachment order (§2.6). */
  readonly bgpAdvertisements: readonly BgpAdvertisement[];
}

/** A weighted preference for L2 leader election (`preferredNodeSelectors[]`). */
export interface PreferredNodeSelector {
  readonly weight: number;
  readonly preference: LabelMatcher;
}

/** A validated L2Advertisement. */
export interface L2Advertisement {
  readonly name: string;
  /** Names of the pools this advertisement applies to (resolved from names + selectors). */
  readonly pools: readonly string[];
  /** Node selectors (OR); empty = every node. */
  readonly nodeSelectors: readonly LabelMatcher[];
  /** Node names selected at parse time from the Nodes given to the parser. */
  readonly nodes: ReadonlySet<string>;
  /** True when `interfaces` is empty: announce on every (non-excluded) interface. */
  readonly allInterfaces: boolean;
  readonly interfaces: readonly string[];
  /** Service selectors (OR), sorted by canonical string form; empty = every service. */
  readonly serviceSelectors: readonly LabelMatcher[];
  readonly preferredNodeSelectors: readonly PreferredNodeSelector[];
}

/** Codes for the two community shapes (RFC 1997 standard, RFC 8092 large). */
export const CommunityKind = {
  Standard: 'standard',
  Large: 'large',
} as const;
export type CommunityKind = (typeof CommunityKind)[keyof typeof CommunityKind];

/** A BGP community: RFC 1997 `A:B` (value = A<<16 | B) or RFC 8092 `large:G:L1:L2`. */
export type Community =
  | { readonly kind: typeof CommunityKind.Standard; readonly value: number }
  | {
      readonly kind: typeof CommunityKind.Large;
      readonly globalAdmin: number;
      readonly localData1: number;
      readonly localData2: number;
    };

/** A validated BGPAdvertisement. */
export interface BgpAdvertisement {
  readonly name: string;
  readonly pools: readonly string[];
  /** IPv4 prefix length advertised (default 32). */
  readonly aggregationLength: number;
  /** IPv6 prefix length advertised (default 128). */
  readonly aggregationLengthV6: number;
  /** LOCAL_PREF (0 when unset; sent to iBGP peers only). */
  readonly localPref: number;
  /** Communities resolved through Community aliases, sorted in upstream's order (§2.7). */
  readonly communities: readonly Community[];
  /** BGPPeer names to advertise to; empty = every peer. */
  readonly peers: readonly string[];
  readonly nodeSelectors: readonly LabelMatcher[];
  readonly nodes: ReadonlySet<string>;
  readonly serviceSelectors: readonly LabelMatcher[];
}

/** `dynamicASN` values of BGPPeer v1beta2. */
export const DynamicAsn = {
  Internal: 'internal',
  External: 'external',
} as const;
export type DynamicAsn = (typeof DynamicAsn)[keyof typeof DynamicAsn];

/** A validated BGPPeer (v1beta2 fields; v1beta1 objects are converted first). */
export interface Peer {
  /** `metadata.name`; BGPAdvertisement `peers` refer to it. */
  readonly name: string;
  readonly myASN: number;
  /** 0 when `dynamicASN` is used instead. */
  readonly peerASN: number;
  readonly dynamicASN: DynamicAsn | undefined;
  readonly localASN: number | undefined;
  /** Canonical text of `peerAddress` (undefined for unnumbered peers). */
  readonly address: string | undefined;
  readonly addressFamily: IpFamily | undefined;
  readonly interface: string | undefined;
  /** TCP port to dial (CRD default 179). */
  readonly port: number;
  readonly sourceAddress: string | undefined;
  /**
   * Hold time in whole seconds, or undefined when neither holdTime nor keepaliveTime is set
   * (the BGP layer then uses 90 s like upstream native). 0 means "no keepalives" (RFC 4271 §4.2).
   */
  readonly holdTimeSec: number | undefined;
  /** Keepalive in whole seconds; derived as hold/3 (or hold = 3 × keepalive) like upstream. */
  readonly keepaliveTimeSec: number | undefined;
  /** Connect retry time in whole seconds, if set. */
  readonly connectTimeSec: number | undefined;
  readonly routerID: string | undefined;
  /** Node selectors (OR); empty = every node. */
  readonly nodeSelectors: readonly LabelMatcher[];
  /** TCP-MD5 password: `password`, or the `password` key of `passwordSecret` (decoded). '' = none. */
  readonly password: string;
  readonly passwordSecret: { readonly name: string; readonly namespace: string } | undefined;
  readonly bfdProfile: string | undefined;
  readonly enableGracefulRestart: boolean;
  readonly ebgpMultiHop: boolean;
  readonly vrf: string | undefined;
  readonly disableMP: boolean;
  readonly dualStackAddressFamily: boolean;
}

/**
 * A validated BFDProfile (`api/v1beta1/bfdprofile_types.go` in metallb/metallb; ranges in
 * src/config/bfd-and-communities.ts). Unset numbers take FRR's defaults in src/bfd/profile.ts.
 */
export interface BfdProfile {
  readonly name: string;
  /** `receiveInterval`: RequiredMinRxInterval in ms (10..60000). */
  readonly receiveIntervalMs: number | undefined;
  /** `transmitInterval`: DesiredMinTxInterval in ms (10..60000). */
  readonly transmitIntervalMs: number | undefined;
  /** `detectMultiplier` (2..255). */
  readonly detectMultiplier: number | undefined;
  /** `echoInterval` in ms (10..60000); unused, no Echo function. */
  readonly echoIntervalMs: number | undefined;
  /** `echoMode`: a peer using a profile with echo on is disabled (docs/bfd.md). */
  readonly echoMode: boolean;
  readonly passiveMode: boolean;
  /** `minimumTtl` (1..254), multihop sessions only. */
  readonly minimumTtl: number | undefined;
}

/** Pool indexes used by the allocator, as upstream's `Pools` struct (§2.4). */
export interface PoolIndex {
  /** Pools whose serviceAllocation namespace set contains the namespace, sorted by name. */
  readonly byNamespace: ReadonlyMap<string, readonly string[]>;
  /** Pools with at least one service selector, sorted by name. */
  readonly byServiceSelector: readonly string[];
}

/** The whole validated configuration. Maps iterate in name order. */
export interface Config {
  readonly pools: ReadonlyMap<string, Pool>;
  readonly poolIndex: PoolIndex;
  /** The usable BGPPeers: every peer not in `disabledPeers`. */
  readonly peers: readonly Peer[];
  /**
   * BGPPeers left out because of a problem of their own (or of the BFDProfile they name): peer
   * name -> why, in the words of the findings. A broken peer disables itself only; every other
   * peer, pool and advertisement keeps working.
   */
  readonly disabledPeers: ReadonlyMap<string, string>;
  readonly bfdProfiles: ReadonlyMap<string, BfdProfile>;
  /** Community aliases from Community CRs. */
  readonly communityAliases: ReadonlyMap<string, Community>;
  readonly l2Advertisements: readonly L2Advertisement[];
  readonly bgpAdvertisements: readonly BgpAdvertisement[];
}

/** metallb.io kinds (and the referenced core kinds) that configuration errors can name. */
export const ConfigKind = {
  IPAddressPool: 'IPAddressPool',
  L2Advertisement: 'L2Advertisement',
  BGPAdvertisement: 'BGPAdvertisement',
  BGPPeer: 'BGPPeer',
  Community: 'Community',
  BFDProfile: 'BFDProfile',
  Secret: 'Secret',
} as const;
export type ConfigKind = (typeof ConfigKind)[keyof typeof ConfigKind];

/**
 * One configuration problem. `message` reads like upstream's and names the object and value;
 * `transient` marks references that may become valid once another object is created (§2.1).
 */
export interface ConfigError {
  readonly kind: ConfigKind;
  readonly namespace: string;
  readonly name: string;
  /** JSON-path-like location inside the object, e.g. `spec.addresses[1]`. */
  readonly field: string;
  readonly message: string;
  readonly transient: boolean;
  /**
   * A BGPPeer problem reported as a warning because it disables that peer only (never set on
   * errors); the finding is shown as `<message> (peer disabled)`.
   */
  readonly disablesPeer?: boolean;
}

/**
 * Result of `parseConfig`: a config, or every error found. Warnings are problems upstream
 * accepts silently (e.g. an advertisement naming a pool that does not exist); they never make
 * a configuration invalid.
 */
export type ParseResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly ConfigError[] }
  | { readonly ok: false; readonly errors: readonly ConfigError[]; readonly warnings: readonly ConfigError[] };
