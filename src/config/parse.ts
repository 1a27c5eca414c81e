/**
 * `parseConfig`: metallb.io objects (plus referenced Secrets, Nodes, Namespaces) → validated
 * Config, pure. Mirrors upstream's `config.For` (docs/upstream-behaviour.md §2.1): lists sorted by
 * name, parsed in upstream's order (BFD → peers → communities → pools → L2 → BGP ads). Deliberate
 * differences: every error is collected and returned, where upstream stops at the first; and a
 * broken BGPPeer or BFDProfile disables that peer only (`Config.disabledPeers`, src/config/peers.ts).
 */
import { uniqueByName } from './ad-common';
import { parseBfdProfiles, parseCommunityAliases } from './bfd-and-communities';
import { parseBgpAdvertisements } from './bgp-advertisements';
import { Issues, readMeta } from './issues';
import { parseL2Advertisements } from './l2-advertisements';
import { parsePeers } from './peers';
import { type PoolDraft, parsePools } from './pools';
import { type Config, ConfigKind, type ParseResult, type Pool, type PoolIndex } from './types';

/**
 * The objects a configuration is built from, as plain JSON (what client-node returns or YAML
 * decodes to). Every list is optional; anything that is not an array counts as empty.
 */
export interface ConfigResources {
  readonly pools?: readonly unknown[];
  readonly l2Advertisements?: readonly unknown[];
  readonly bgpAdvertisements?: readonly unknown[];
  /** BGPPeer objects, v1beta2 or v1beta1 shaped. */
  readonly peers?: readonly unknown[];
  readonly communities?: readonly unknown[];
  readonly bfdProfiles?: readonly unknown[];
  /** Secrets referenced by `passwordSecret` (type kubernetes.io/basic-auth, key `password`). */
  readonly secrets?: readonly unknown[];
  /** Nodes, for advertisement node selectors (resolved to names) and peer overlap checks. */
  readonly nodes?: readonly unknown[];
  /** Namespaces, for serviceAllocation.namespaceSelectors (resolved at parse time). */
  readonly namespaces?: readonly unknown[];
}

function list(x: unknown): unknown[] {
  // Array.from turns holes of sparse arrays into undefined, so later map/for-of agree.
  return Array.isArray(x) ? Array.from(x as unknown[]) : [];
}

/** Stable sort by metadata.name, as upstream's `sortedCopy` intends (§2.1 step 2). */
function sortedByName(x: unknown): unknown[] {
  return list(x)
    .map((o, i) => ({ o, i, name: readMeta(o).name }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.i - b.i))
    .map((e) => e.o);
}

function freezePool(d: PoolDraft): Pool {
  return {
    name: d.name,
    labels: d.labels,
    cidrs: d.cidrs,
    addresses: d.addresses,
    autoAssign: d.autoAssign,
    avoidBuggyIPs: d.avoidBuggyIPs,
    serviceAllocation: d.serviceAllocation,
    l2Advertisements: d.l2Advertisements,
    bgpAdvertisements: d.bgpAdvertisements,
  };
}

/** Upstream's `Pools.ByNamespace` / `ByServiceSelector` indexes (§2.4). */
export function buildPoolIndex(pools: ReadonlyMap<string, Pool>): PoolIndex {
  const byNamespace = new Map<string, string[]>();
  const byServiceSelector: string[] = [];
  for (const pool of pools.values()) {
    const sa = pool.serviceAllocation;
    if (!sa) continue;
    for (const ns of sa.namespaces) {
      const names = byNamespace.get(ns) ?? [];
      names.push(pool.name);
      byNamespace.set(ns, names);
    }
    if (sa.serviceSelectors.length > 0) byServiceSelector.push(pool.name);
  }
  for (const names of byNamespace.values()) names.sort();
  return { byNamespace, byServiceSelector: byServiceSelector.sort() };
}

/** Build a validated Config from the objects, or return every error found. Never throws. */
export function parseConfig(resources: ConfigResources): ParseResult {
  const issues = new Issues();
  const nodes = list(resources.nodes).map(readMeta);
  const namespaces = list(resources.namespaces).map(readMeta);
  const secrets = list(resources.secrets);

  const bfd = parseBfdProfiles(sortedByName(resources.bfdProfiles), issues);
  const peers = parsePeers(sortedByName(resources.peers), issues, secrets, bfd, nodes);
  const communityAliases = parseCommunityAliases(sortedByName(resources.communities), issues);
  const drafts = parsePools(sortedByName(resources.pools), namespaces, issues);
  const l2 = uniqueByName(sortedByName(resources.l2Advertisements), ConfigKind.L2Advertisement, issues);
  const l2Advertisements = parseL2Advertisements(l2, issues, drafts, nodes);
  const bgp = uniqueByName(sortedByName(resources.bgpAdvertisements), ConfigKind.BGPAdvertisement, issues);
  // Disabled peers count as existing: an advertisement naming one is not misspelt.
  const bgpAdvertisements = parseBgpAdvertisements(bgp, issues, drafts, nodes, communityAliases, peers.names);

  if (issues.errors.length > 0) return { ok: false, errors: issues.errors, warnings: issues.warnings };
  const pools = new Map<string, Pool>([...drafts.values()].map((d) => [d.name, freezePool(d)]));
  const config: Config = {
    pools,
    poolIndex: buildPoolIndex(pools),
    peers: peers.peers,
    disabledPeers: peers.disabled,
    bfdProfiles: bfd.profiles,
    communityAliases,
    l2Advertisements,
    bgpAdvertisements,
  };
  return { ok: true, config, warnings: issues.warnings };
}
