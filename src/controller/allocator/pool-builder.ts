/**
 * Build allocator-ready `Pool` values and their `PoolIndex` from compact text, without the full
 * config parser: for unit tests and the allocator benchmark. Production code gets its pools from
 * src/config, which validates far more (overlaps, names, selectors).
 */
import type { Pool, PoolIndex, ServiceAllocation } from '../../config/types';
import { everything, type LabelMatcher } from '../../config/selectors';
import { parseCidr, rangeToCidrs, type IpCidr } from '../../net/cidr';
import { parseIp } from '../../net/ip';

/** Options of `buildPool`; everything optional, defaults as upstream's CRD defaults. */
export interface PoolSpec {
  readonly autoAssign?: boolean;
  readonly avoidBuggyIPs?: boolean;
  /** Omitted = no serviceAllocation (a generic pool). */
  readonly serviceAllocation?: {
    readonly priority?: number;
    readonly namespaces?: readonly string[];
    readonly serviceSelectors?: readonly LabelMatcher[];
  };
}

/** Expand one `addresses` entry (`a.b.c.d/n` or `first-last`); throws RangeError when invalid. */
export function expandAddress(entry: string): IpCidr[] {
  const dash = entry.indexOf('-');
  if (dash < 0) {
    const c = parseCidr(entry);
    if (c === undefined) throw new RangeError(`invalid CIDR ${JSON.stringify(entry)}`);
    return [c];
  }
  const a = parseIp(entry.slice(0, dash).trim());
  const b = parseIp(entry.slice(dash + 1).trim());
  if (a === undefined || b === undefined || a.family !== b.family || a.value > b.value) {
    throw new RangeError(`invalid IP range ${JSON.stringify(entry)}`);
  }
  return rangeToCidrs({ family: a.family, first: a.value, last: b.value });
}

/** A Pool from a name and address entries. */
export function buildPool(name: string, addresses: readonly string[], spec: PoolSpec = {}): Pool {
  const entries = addresses.map((raw) => {
    const cidrs = expandAddress(raw);
    return { raw, family: cidrs[0]?.family, cidrs };
  });
  let serviceAllocation: ServiceAllocation | undefined;
  if (spec.serviceAllocation !== undefined) {
    const sa = spec.serviceAllocation;
    const namespaces = new Set(sa.namespaces ?? []);
    let selectors = [...(sa.serviceSelectors ?? [])];
    // Upstream: a serviceAllocation with neither namespaces nor selectors matches every service
    // (docs/upstream-behaviour.md §2.4).
    if (namespaces.size === 0 && selectors.length === 0) selectors = [everything()];
    serviceAllocation = { priority: sa.priority ?? 0, namespaces, serviceSelectors: selectors };
  }
  return {
    name,
    labels: {},
    cidrs: entries.flatMap((e) => e.cidrs),
    addresses: entries,
    autoAssign: spec.autoAssign ?? true,
    avoidBuggyIPs: spec.avoidBuggyIPs ?? false,
    serviceAllocation,
    l2Advertisements: [],
    bgpAdvertisements: [],
  };
}

/** Upstream's derived indexes (docs/upstream-behaviour.md §2.4): pools by namespace, pools with service selectors, by name. */
export function buildPoolIndex(pools: Iterable<Pool>): PoolIndex {
  const sorted = [...pools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byNamespace = new Map<string, string[]>();
  const byServiceSelector: string[] = [];
  for (const p of sorted) {
    const sa = p.serviceAllocation;
    if (sa === undefined) continue;
    for (const ns of sa.namespaces) byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), p.name]);
    if (sa.serviceSelectors.length > 0) byServiceSelector.push(p.name);
  }
  return { byNamespace, byServiceSelector };
}

/** Pools keyed by name plus their index, ready for `Allocator.setPools`. */
export function buildPools(pools: readonly Pool[]): { pools: ReadonlyMap<string, Pool>; index: PoolIndex } {
  return { pools: new Map(pools.map((p) => [p.name, p])), index: buildPoolIndex(pools) };
}
