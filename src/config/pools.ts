/**
 * IPAddressPool parsing (docs/upstream-behaviour.md §2.2-§2.4): address entries, serviceAllocation
 * with namespaceSelectors resolved at parse time, and the cross-pool overlap rule.
 */
import { parseAddressEntry, type IpCidr } from '../net/cidr';
import { kubeAddressRefusal } from './kube-ip';
import { asObject, FieldReader, type Issues, type Meta, type ObjectRef, readMeta, show } from './issues';
import { readSelectorList, selectNames } from './selector-list';
import { everything, type LabelMatcher } from './selectors';
import {
  type BgpAdvertisement,
  ConfigKind,
  type L2Advertisement,
  type PoolAddressEntry,
  type ServiceAllocation,
} from './types';

/** A pool while the config is being built; advertisements are attached later. */
export interface PoolDraft {
  readonly name: string;
  readonly ref: ObjectRef;
  readonly labels: Readonly<Record<string, string>>;
  readonly cidrs: IpCidr[];
  readonly addresses: PoolAddressEntry[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly serviceAllocation: ServiceAllocation | undefined;
  readonly l2Advertisements: L2Advertisement[];
  readonly bgpAdvertisements: BgpAdvertisement[];
}

function parseServiceAllocation(r: FieldReader, poolName: string, namespaces: readonly Meta[]): ServiceAllocation | undefined {
  const raw = r.spec['serviceAllocation'];
  if (raw === undefined || raw === null) return undefined;
  const spec = asObject(raw);
  if (!spec) {
    r.error('serviceAllocation', `spec.serviceAllocation must be an object, got ${show(raw)}`);
    return undefined;
  }
  const sr = new FieldReader(r.issues, r.ref, spec, 'spec.serviceAllocation');
  const priority = sr.int('priority', -2147483648, 2147483647) ?? 0;
  const names = sr.stringList('namespaces');
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) sr.error('namespaces', 'duplicate definition in namespaces field');
    seen.add(n);
  }
  const nsSelectors = readSelectorList(sr, 'namespaceSelectors', (e) => `invalid namespace label selector ${e} in ip pool ${poolName}`);
  let serviceSelectors: LabelMatcher[] = readSelectorList(sr, 'serviceSelectors', (e) => `invalid service label selector ${e} in ip pool ${poolName}`);
  const resolved = new Set(names);
  // §2.4: namespaceSelectors are evaluated now, against the namespaces we were given.
  if (nsSelectors.length > 0) for (const n of selectNames(nsSelectors, namespaces)) resolved.add(n);
  const rawNsSel = sr.list('namespaceSelectors');
  const rawSvcSel = sr.list('serviceSelectors');
  if (names.length === 0 && rawNsSel.length === 0 && rawSvcSel.length === 0) {
    // Upstream gives such a pool a match-everything service selector: pinned for all services.
    serviceSelectors = [everything()];
  }
  return { priority, namespaces: resolved, serviceSelectors };
}

function parsePool(raw: unknown, meta: Meta, issues: Issues, namespaces: readonly Meta[]): PoolDraft {
  const ref: ObjectRef = { kind: ConfigKind.IPAddressPool, namespace: meta.namespace, name: meta.name };
  const specRaw = asObject(raw)?.['spec'];
  const spec = asObject(specRaw) ?? {};
  const r = new FieldReader(issues, ref, spec);
  if (specRaw !== undefined && asObject(specRaw) === undefined) r.error('', `spec must be an object, got ${show(specRaw)}`);
  if (meta.name === '') issues.error(ref, 'metadata.name', 'missing pool name');
  const entries = r.stringList('addresses');
  const rawAddresses = spec['addresses'];
  // A non-list `addresses` was already reported as a type error by stringList.
  if (entries.length === 0 && (rawAddresses === undefined || rawAddresses === null || Array.isArray(rawAddresses))) {
    r.error('addresses', 'pool has no prefixes defined');
  }
  const addresses: PoolAddressEntry[] = [];
  const cidrs: IpCidr[] = [];
  entries.forEach((entry, i) => {
    const p = parseAddressEntry(entry);
    // The CRD's isIP/isCIDR rules refuse a few entries upstream's parser takes; refusing them
    // here too gives clusters without those rules (Kubernetes < 1.31) the same verdict and words.
    const error = p.ok ? kubeAddressRefusal(entry) : p.error;
    if (!p.ok || error !== undefined) {
      const inner = error === `invalid CIDR "${entry}"` ? '' : `: ${error}`;
      r.error(`addresses[${i}]`, `invalid CIDR "${entry}" in pool "${meta.name}"${inner}`);
      return;
    }
    addresses.push({ raw: entry, family: p.family, cidrs: p.cidrs });
    cidrs.push(...p.cidrs);
  });
  const autoAssign = r.bool('autoAssign', true);
  const avoidBuggyIPs = r.bool('avoidBuggyIPs', false);
  const serviceAllocation = parseServiceAllocation(r, meta.name, namespaces);
  return {
    name: meta.name,
    ref,
    labels: meta.labels,
    cidrs,
    addresses,
    autoAssign,
    avoidBuggyIPs,
    serviceAllocation,
    l2Advertisements: [],
    bgpAdvertisements: [],
  };
}

interface Placed {
  readonly c: IpCidr;
  readonly order: number;
  readonly pool: PoolDraft;
  parent: number;
  ancMin: number;
  subMin: number;
}

/**
 * §2.3 overlap rule: every CIDR is compared with every CIDR defined before it (earlier pools,
 * earlier entries of the same pool); the later one is reported against the earliest one it
 * overlaps. CIDRs are nested or disjoint, so a sort and a stack find every pair in
 * O(n log n) instead of upstream's O(n²) — hostile pools with thousands of entries stay cheap.
 * `pools` comes oldest first (olderFirst), so the error names the pool that created the overlap.
 */
function checkOverlaps(pools: readonly PoolDraft[], issues: Issues): void {
  const items: Placed[] = [];
  for (const pool of pools) {
    for (const c of pool.cidrs) items.push({ c, order: items.length, pool, parent: -1, ancMin: -1, subMin: -1 });
  }
  const sorted = [...items].sort(
    (a, b) =>
      a.c.family - b.c.family ||
      (a.c.first < b.c.first ? -1 : a.c.first > b.c.first ? 1 : 0) ||
      a.c.prefixLength - b.c.prefixLength ||
      a.order - b.order,
  );
  const minOf = (a: number, b: number): number => (a < 0 ? b : b < 0 ? a : items[a]!.order <= items[b]!.order ? a : b);
  const stack: Placed[] = [];
  for (const it of sorted) {
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.c.family === it.c.family && top.c.last >= it.c.first) break;
      stack.pop();
    }
    const parent = stack[stack.length - 1];
    if (parent) {
      it.parent = parent.order;
      it.ancMin = minOf(parent.ancMin, parent.order);
    }
    stack.push(it);
  }
  for (let i = sorted.length - 1; i >= 0; i--) {
    const it = sorted[i]!;
    if (it.parent >= 0) {
      const p = items[it.parent]!;
      p.subMin = minOf(p.subMin, minOf(it.subMin, it.order));
    }
  }
  for (const it of items) {
    const best = minOf(it.ancMin, it.subMin);
    if (best >= 0 && items[best]!.order < it.order) {
      const other = items[best]!;
      issues.error(
        it.pool.ref,
        'spec.addresses',
        `CIDR "${it.c.cidr}" in pool "${it.pool.name}" overlaps with already defined CIDR "${other.c.cidr}"`,
      );
    }
  }
}

/** `metadata.creationTimestamp` in ms; undefined when absent or not a date (not created yet). */
function createdAtMs(raw: unknown): number | undefined {
  const ts = asObject(asObject(raw)?.['metadata'])?.['creationTimestamp'];
  const ms = typeof ts === 'string' ? Date.parse(ts) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Pools in the order the overlap check blames: oldest creationTimestamp first, then by name.
 * Upstream orders by name only, so adding pool "a" over a working pool "b" reported "b", the
 * pool nobody touched. A pool without a timestamp has not been created yet (a file given to
 * `validate`): it counts as the newest. Without timestamps this is upstream's name order.
 */
function olderFirst(pools: ReadonlyMap<string, PoolDraft>, created: ReadonlyMap<string, number | undefined>): PoolDraft[] {
  const at = (p: PoolDraft): number => created.get(p.name) ?? Number.POSITIVE_INFINITY;
  return [...pools.values()].sort((a, b) => at(a) - at(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Parse all pools (already sorted by name); duplicates are reported and dropped. */
export function parsePools(raws: readonly unknown[], namespaces: readonly Meta[], issues: Issues): Map<string, PoolDraft> {
  const out = new Map<string, PoolDraft>();
  const created = new Map<string, number | undefined>();
  for (const raw of raws) {
    const meta = readMeta(raw);
    if (out.has(meta.name) && meta.name !== '') {
      issues.error({ kind: ConfigKind.IPAddressPool, namespace: meta.namespace, name: meta.name }, 'metadata.name', `duplicate definition of pool "${meta.name}"`);
      continue;
    }
    out.set(meta.name, parsePool(raw, meta, issues, namespaces));
    created.set(meta.name, createdAtMs(raw));
  }
  checkOverlaps(olderFirst(out, created), issues);
  return out;
}
