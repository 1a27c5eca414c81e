/**
 * The IP allocator: pure in-memory state, no I/O, no clock. Same semantics as upstream
 * `internal/allocator` (docs/upstream-behaviour.md §3.5-§3.8, §3.12), with these deliberate
 * differences:
 *
 * - Pool order is deterministic (upstream leaves it unspecified: Go map order, i.e. random,
 *   docs/upstream-behaviour.md §3.5 C.1). Pinned pools of equal priority are tried namespace-pinned
 *   first, then selector-pinned, each group in name order; generic pools in name order. First-fit
 *   inside a pool is unchanged.
 * - An address stays "in use" while any Service holds it; upstream forgets the sharing key of an
 *   address whose remaining users expose no ports, which cannot happen for a valid Service.
 * - Capacity saturates at MaxInt64 instead of overflowing (§3.12).
 * - Failures carry a `detail` that explains, pool by pool, why nothing could be allocated.
 *
 * Costs: an allocation is a handful of interval-set lookups per candidate pool, independent of
 * pool size; memory grows with the number of allocations, never with pool size.
 */
import type { Pool, PoolIndex } from '../../config/types';
import { formatIp, isBuggyIp, type IpAddr, type IpFamily } from '../../net/ip';
import { goQuote, goQuoteList } from '../go-quote';
import { ShareIndex, holdersSeenFrom, namespaceOf, sharingMismatch } from './sharing';
import { PoolState, RangeTable, type ScanRange } from './pool-state';
import { HolderIndex, firstHolder, holderList, type ExclusiveHold } from './holders';
import { AllocationRecord } from './record';
import { explainAutoFailure, explainPoolFailure, notInConfigDetail, poolCompatibility } from './explain';
import { MASK_BOTH, OK, candidateFor, familyBit, familyOfIps, maskOf, selectIps, type Candidates, type FamilyMask } from './families';
import {
  AllocErrorCode,
  IpFamilyPolicy,
  fail,
  ok,
  portString,
  type AllocRequest,
  type AllocResult,
  type Allocation,
  type PoolCounters,
  type Port,
  type SetPoolsReport,
} from './types';

export { familyOfIps };

/** The IP allocator. One instance per controller process; state is rebuilt from Service status. */
export class Allocator {
  private pools = new Map<string, PoolState>();
  private index: PoolIndex = { byNamespace: new Map(), byServiceSelector: [] };
  /** Every pool range sorted by first address, for O(log n) `poolFor`. */
  private table = new RangeTable([]);
  private genericPools: PoolState[] = [];
  private readonly allocated = new Map<string, AllocationRecord>();
  /**
   * Address -> holders. Every holder of an address has the same sharing and backend keys
   * (checkSharing guarantees it, §3.6), so the keys are read from a holder's record instead of
   * being stored per address: at 100,000 allocations every retained object counts.
   */
  private holders = this.newHolderIndex();
  /** Sharing key -> addresses (per family) currently recorded with that key. */
  private shareIndex = new ShareIndex();
  private readonly dirty = new Set<string>();

  /** True once a configuration with at least one pool is loaded. */
  hasPools(): boolean {
    return this.pools.size > 0;
  }

  /** Names of the pools of the current configuration, sorted. */
  poolNames(): string[] {
    return [...this.pools.keys()].sort();
  }

  /** The current config's pool, if any. */
  poolByName(name: string): Pool | undefined {
    return this.pools.get(name)?.pool;
  }

  /**
   * Install a new configuration (upstream `SetPools`, §3.8): always accepted; allocations whose
   * IPs no pool contains any more are dropped, renamed/split pools re-home theirs.
   */
  setPools(pools: ReadonlyMap<string, Pool>, index: PoolIndex): SetPoolsReport {
    const removedPools = [...this.pools.keys()].filter((n) => !pools.has(n)).sort();
    for (const n of removedPools) this.dirty.delete(n);
    this.pools = new Map([...pools.values()].map((p) => [p.name, new PoolState(p)]));
    this.index = index;
    this.table = new RangeTable(this.pools.values());
    this.genericPools = [...this.pools.values()]
      .filter((p) => p.pool.autoAssign && p.pool.serviceAllocation === undefined)
      .sort((a, b) => (a.name < b.name ? -1 : 1));

    // Rebuild every index from the surviving allocations: they were mutually consistent
    // before, so no sharing check is needed (upstream uses its internal assign here too).
    const old = [...this.allocated.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    this.allocated.clear();
    this.holders = this.newHolderIndex();
    this.shareIndex = new ShareIndex();
    const released: { service: string; ips: IpAddr[]; pool: string }[] = [];
    const moved: { service: string; from: string; to: string }[] = [];
    for (const [service, a] of old) {
      const ps = this.poolFor(a.ips);
      if (ps === undefined) {
        released.push({ service, ips: [...a.ips], pool: a.pool });
        continue;
      }
      if (ps.name !== a.pool) moved.push({ service, from: a.pool, to: ps.name });
      this.record(service, ps.name === a.pool ? a : a.inPool(ps.name));
    }
    const refreshedPools = this.poolNames();
    for (const n of refreshedPools) this.dirty.add(n);
    return { removedPools, refreshedPools, released, moved };
  }

  private newHolderIndex(): HolderIndex {
    return new HolderIndex(
      (family, value) => this.table.poolOf({ family, value })?.isUsed(family, value) ?? false,
      () => this.exclusiveHolds(),
    );
  }

  private *exclusiveHolds(): IterableIterator<ExclusiveHold> {
    for (const [service, a] of this.allocated) {
      if (a.sharingKey !== '') continue;
      const v4 = a.v4;
      if (v4 !== undefined) yield { service, family: 4, value: v4 };
      if (a.v6 !== undefined) yield { service, family: 6, value: a.v6 };
    }
  }

  /** The pool that contains every one of `ips` (upstream `poolFor`), or undefined. */
  private poolFor(ips: readonly IpAddr[]): PoolState | undefined {
    let found: PoolState | undefined;
    for (const ip of ips) {
      const ps = this.table.poolOf(ip);
      if (ps === undefined || (found !== undefined && found !== ps)) return undefined;
      found = ps;
    }
    return found;
  }

  /** Name of the pool holding these IPs under the current config (upstream `PoolForIP`). */
  poolForIps(ips: readonly IpAddr[]): string | undefined {
    return ips.length === 0 ? undefined : this.poolFor(ips)?.name;
  }

  /**
   * Record an allocation without checks (upstream's internal `assign`), replacing the Service's
   * previous one. `fresh` says the Service holds nothing now, which saves a lookup in a map as
   * large as the cluster's Service count.
   */
  private record(service: string, a: AllocationRecord, fresh = false): void {
    if (!fresh) this.unassign(service);
    this.allocated.set(service, a);
    const ps = this.pools.get(a.pool);
    const v4 = a.v4;
    if (v4 !== undefined) this.hold(ps, a, service, 4, v4);
    if (a.v6 !== undefined) this.hold(ps, a, service, 6, a.v6);
    this.dirty.add(a.pool);
  }

  private hold(ps: PoolState | undefined, a: AllocationRecord, service: string, family: IpFamily, value: bigint): void {
    if (!this.holders.add(family, value, service, a.sharingKey !== '')) return;
    ps?.markUsed(family, value);
    this.shareIndex.update(a.sharingKey, family, value, true);
  }

  private release(ps: PoolState | undefined, a: AllocationRecord, service: string, family: IpFamily, value: bigint): void {
    if (!this.holders.remove(family, value, service, a.sharingKey !== '')) return;
    ps?.markFree(family, value);
    this.shareIndex.update(a.sharingKey, family, value, false);
  }

  /** Free the Service's addresses; false if it had none (upstream `Unassign`). */
  unassign(service: string): boolean {
    const a = this.allocated.get(service);
    if (a === undefined) return false;
    this.allocated.delete(service);
    const ps = this.pools.get(a.pool);
    const v4 = a.v4;
    if (v4 !== undefined) this.release(ps, a, service, 4, v4);
    if (a.v6 !== undefined) this.release(ps, a, service, 6, a.v6);
    if (ps !== undefined) this.dirty.add(a.pool);
    return true;
  }

  /**
   * May `service` use `ip` with these keys and ports? Upstream `checkSharing`: a held address
   * needs the same non-empty sharing key and backend key unless the Service is its only holder,
   * and no (protocol, port) held there by another Service.
   */
  private checkSharing(service: string, ip: IpAddr, ports: readonly Port[], sharing: string, backend: string): AllocResult<undefined> {
    // A Service re-claiming the address it holds without sharing is its only holder. Answering
    // here keeps the commonest question (every reconcile of an allocated Service) from building
    // the lazy part of the holder index, which only conflicts should need.
    const own = this.allocated.get(service);
    if (own !== undefined && own.sharingKey === '' && own.holds(ip)) return OK;
    const use = this.holders.lookup(ip.family, ip.value);
    if (use === undefined) return OK;
    const others = holderList(use).filter((s) => s !== service);
    const recordedKey = firstHolder(use);
    const recorded = this.allocated.get(recordedKey) as Allocation;
    const why = sharingMismatch(recorded, sharing, backend, namespaceOf(recordedKey) === namespaceOf(service));
    if (why !== undefined && others.length > 0) {
      return fail(
        AllocErrorCode.SharingKeyConflict,
        `can't change sharing key for ${goQuote(service)}, address also in use by ${holdersSeenFrom(service, others)}`,
        why,
      );
    }
    for (const p of ports) {
      for (const other of others) {
        const held = this.allocated.get(other)?.ports ?? [];
        if (held.some((h) => h.protocol === p.protocol && h.port === p.port)) {
          return fail(
            AllocErrorCode.PortConflict,
            `port ${portString(p)} is already in use on ${goQuote(formatIp(ip))}`,
            `held by ${holdersSeenFrom(service, [other])}`,
          );
        }
      }
    }
    return OK;
  }

  /** Upstream `Assign`: claim exactly these IPs for the Service, or say why not. */
  assign(req: AllocRequest, ips: readonly IpAddr[]): AllocResult<readonly IpAddr[]> {
    return this.assignOwned(req, [...ips]);
  }

  /** `assign` for an array nobody else holds (the hot path avoids the copy). */
  private assignOwned(req: AllocRequest, ips: IpAddr[]): AllocResult<readonly IpAddr[]> {
    const ps = ips.length === 0 ? undefined : this.poolFor(ips);
    if (ps === undefined) {
      return fail(AllocErrorCode.NotInConfig, `${goQuoteList(ips)} is not allowed in config`, notInConfigDetail(this, ips));
    }
    const compat = poolCompatibility(ps.pool, req);
    if (!compat.ok) {
      return fail(AllocErrorCode.PoolNotCompatible, `pool ${ps.name} not compatible for ip assignment`, compat.reason);
    }
    if (ips.length > 2) return fail(AllocErrorCode.TooManyAddresses, `more than two addresses ${goQuoteList(ips)}`);
    if (ips.length === 2 && (ips[0] as IpAddr).family === (ips[1] as IpAddr).family) {
      return fail(AllocErrorCode.SameFamily, `${goQuote(formatIp(ips[0] as IpAddr))} ${goQuote(formatIp(ips[1] as IpAddr))} has the same family`);
    }
    for (const ip of ips) {
      const r = this.checkSharing(req.key, ip, req.ports, req.sharingKey, req.backendKey);
      if (!r.ok) return fail(r.error.code, r.error.message, r.error.detail);
    }
    return this.claim(req, ps, ips);
  }

  /** Record checked or freshly found addresses for the Service; `fresh`: it holds none now. */
  private claim(req: AllocRequest, ps: PoolState, ips: IpAddr[], fresh = false): AllocResult<readonly IpAddr[]> {
    // AllocRequest is immutable, so its ports array can be shared rather than copied.
    this.record(req.key, AllocationRecord.create(ps.name, ips, req.ports, req.sharingKey, req.backendKey), fresh);
    return { ok: true, value: ips };
  }

  /** First address of `range` this Service may take, first-fit (upstream `getIPFromCIDR`). */
  private firstUsable(ps: PoolState, range: ScanRange, req: AllocRequest, own: AllocationRecord | undefined): bigint | undefined {
    const free = ps.firstFree(range);
    // An address below the first free one can only be usable if it is already shared under
    // this Service's key (or held by this Service alone); without either, first free wins.
    if (req.sharingKey === '' && own === undefined) return free;
    const bound = free === undefined ? range.last : free - 1n;
    let best: bigint | undefined;
    const shared = this.shareIndex.members(req.sharingKey, range.family);
    if (shared !== undefined) {
      for (let m = shared.nextMember(range.first); m !== undefined && m <= bound; m = shared.nextMember(m + 1n)) {
        if (this.acceptable(ps, range.family, m, req)) {
          best = m;
          break;
        }
      }
    }
    for (const ip of own?.ips ?? []) {
      if (ip.family !== range.family || ip.value < range.first || ip.value > bound) continue;
      if ((best === undefined || ip.value < best) && this.acceptable(ps, range.family, ip.value, req)) best = ip.value;
    }
    return best ?? free;
  }

  private acceptable(ps: PoolState, family: IpFamily, v: bigint, req: AllocRequest): boolean {
    const ip: IpAddr = { family, value: v };
    if (ps.pool.avoidBuggyIPs && isBuggyIp(ip)) return false;
    return this.checkSharing(req.key, ip, req.ports, req.sharingKey, req.backendKey).ok;
  }

  /** Upstream `getFreeIPsFromPool`, limited to the families the caller can use. */
  private candidates(ps: PoolState, req: AllocRequest, families: FamilyMask, own: AllocationRecord | undefined): Candidates {
    // Both fields from the start: one object shape for every candidate set.
    const c: Candidates = { pool: ps, v4: undefined, v6: undefined };
    for (const range of ps.ranges) {
      if ((families & familyBit(range.family)) === 0 || candidateFor(c, range.family) !== undefined) continue;
      const v = this.firstUsable(ps, range, req, own);
      if (v === undefined) continue;
      if (range.family === 4) c.v4 = { family: 4, value: v };
      else c.v6 = { family: 6, value: v };
    }
    return c;
  }

  /** Upstream `findBestPoolForService`. */
  private bestPool(pools: readonly PoolState[], req: AllocRequest): AllocResult<Candidates> {
    const primary: IpFamily = req.primaryFamily;
    const secondary: IpFamily = primary === 4 ? 6 : 4;
    const single: IpFamily | undefined = req.family === 'ipv4' ? 4 : req.family === 'ipv6' ? 6 : undefined;
    const families: FamilyMask = single === undefined ? MASK_BOTH : familyBit(single);
    const prefer = req.policy === IpFamilyPolicy.PreferDualStack && req.family === 'dual';
    let primaryCand: Candidates | undefined;
    let secondaryCand: Candidates | undefined;
    for (const ps of pools) {
      // Only allocate() gets here, for a Service that holds nothing.
      const c = this.candidates(ps, req, families, undefined);
      if (single !== undefined && candidateFor(c, single)) return ok(c);
      const p = candidateFor(c, primary);
      const s = candidateFor(c, secondary);
      if (p && s) return ok(c);
      if (!prefer) continue;
      if (p && primaryCand === undefined) primaryCand = c;
      if (s && secondaryCand === undefined) secondaryCand = c;
    }
    const best = primaryCand ?? secondaryCand;
    return best ? ok(best) : fail(AllocErrorCode.NoSuitablePool, `no suitable pool for ${req.family} IPFamily`);
  }

  /** Pools pinned to this Service by serviceAllocation, in priority order (upstream `pinnedPoolsForService`). */
  pinnedPools(req: AllocRequest): readonly PoolState[] {
    const byNs = this.index.byNamespace.get(req.namespace);
    if (byNs === undefined && this.index.byServiceSelector.length === 0) return NO_POOLS;
    const out: PoolState[] = [];
    for (const list of [byNs ?? [], this.index.byServiceSelector]) {
      for (const n of list) {
        const ps = this.pools.get(n);
        if (ps === undefined || out.includes(ps) || !ps.pool.autoAssign || !poolCompatibility(ps.pool, req).ok) continue;
        out.push(ps);
      }
    }
    // Positive priorities ascending, then priority 0. The sort is stable, so equal priorities
    // keep insertion order: pools pinned by namespace (by name), then pools pinned by selector
    // (by name); a pool in both lists keeps its namespace position.
    return out.length < 2 ? out : out.sort((a, b) => priorityRank(a) - priorityRank(b));
  }

  /** Generic pools: autoAssign and no serviceAllocation, in name order. */
  genericPoolList(): readonly PoolState[] {
    return this.genericPools;
  }

  private allocateFromPools(pools: readonly PoolState[], req: AllocRequest): AllocResult<readonly IpAddr[]> {
    const best = this.bestPool(pools, req);
    if (!best.ok) return best;
    const ips = selectIps(best.value, req.family, req.policy);
    if (!ips.ok) return NO_AVAILABLE;
    // Only allocate() calls this, for a Service that holds nothing. One that does not share was
    // offered the first free addresses of one pool that admits it (pinnedPools and genericPools
    // filter), one per family: every check of assignOwned holds by construction. Sharing
    // Services go through the checks again.
    if (req.sharingKey === '') return this.claim(req, best.value.pool, ips.value, true);
    const r = this.assignOwned(req, ips.value);
    return r.ok ? r : NO_AVAILABLE;
  }

  /** Upstream `Allocate`: automatic allocation, pinned pools first, then generic pools. */
  allocate(req: AllocRequest): AllocResult<readonly IpAddr[]> {
    const current = this.allocated.get(req.key);
    if (current !== undefined) return this.assign(req, current.ips);
    const pinnedPools = this.pinnedPools(req);
    if (pinnedPools.length > 0) {
      const pinned = this.allocateFromPools(pinnedPools, req);
      if (pinned.ok) return pinned;
    }
    const generic = this.allocateFromPools(this.genericPools, req);
    if (generic.ok) return generic;
    return fail(AllocErrorCode.NoAvailableIps, 'no available IPs', explainAutoFailure(this, req));
  }

  /** Upstream `AllocateFromPool`: the pool annotation path (autoAssign is ignored). */
  allocateFromPool(req: AllocRequest, poolName: string): AllocResult<readonly IpAddr[]> {
    const current = this.allocated.get(req.key);
    if (current !== undefined) {
      const fam = familyOfIps(current.ips);
      if (!fam.ok) return fam;
      if (req.policy !== IpFamilyPolicy.PreferDualStack && fam.value !== req.family) {
        return fail(AllocErrorCode.WrongFamily, `IP for wrong family assigned alloc ${fam.value} service family ${req.family}`);
      }
      return this.assign(req, current.ips);
    }
    const ps = this.pools.get(poolName);
    if (ps === undefined) return fail(AllocErrorCode.UnknownPool, `unknown pool ${goQuote(poolName)}`, `pools: ${this.poolNames().join(', ') || 'none'}`);
    const families: IpFamily[] = req.family === 'ipv4' ? [4] : req.family === 'ipv6' ? [6] : [4, 6];
    // The Service holds nothing here (current is undefined).
    const ips = selectIps(this.candidates(ps, req, maskOf(families), undefined), req.family, req.policy);
    if (!ips.ok) return fail(ips.error.code, ips.error.message, explainPoolFailure(this, ps, req, families));
    return this.assignOwned(req, ips.value);
  }

  /** Upstream `AllocateFromPoolForAdditionalFamily`: grow a PreferDualStack Service from its own pool. */
  allocateAdditionalFamily(req: AllocRequest, existing: IpAddr, poolName: string): AllocResult<IpAddr> {
    const family: IpFamily = existing.family === 4 ? 6 : 4;
    const ps = this.pools.get(poolName);
    if (ps === undefined) return fail(AllocErrorCode.UnknownPool, `unknown pool ${goQuote(poolName)}`);
    const ips = selectIps(this.candidates(ps, req, familyBit(family), this.allocated.get(req.key)), family === 4 ? 'ipv4' : 'ipv6', IpFamilyPolicy.SingleStack);
    if (!ips.ok) return fail(ips.error.code, ips.error.message, explainPoolFailure(this, ps, req, [family]));
    const added = ips.value[0] as IpAddr;
    const r = this.assignOwned(req, [existing, added]);
    return r.ok ? ok(added) : r;
  }

  /** The Service's allocation, if any. */
  allocationOf(service: string): Allocation | undefined {
    return this.allocated.get(service);
  }

  /** Pool of the Service's allocation ('' semantics of upstream `Pool` become undefined). */
  poolOf(service: string): string | undefined {
    return this.allocated.get(service)?.pool;
  }

  /** Every allocation, keyed by Service. */
  allocations(): ReadonlyMap<string, Allocation> {
    return this.allocated;
  }

  /** Services holding an address (sorted), for diagnostics and conflict reports. */
  holdersOf(ip: IpAddr): string[] {
    const use = this.holders.lookup(ip.family, ip.value);
    return use === undefined ? [] : [...holderList(use)].sort();
  }

  /** Sharing key recorded on an address, if held. */
  sharingOf(ip: IpAddr): { sharing: string; backend: string } | undefined {
    const u = this.holders.lookup(ip.family, ip.value);
    const a = u === undefined ? undefined : this.allocated.get(firstHolder(u));
    return a === undefined ? undefined : { sharing: a.sharingKey, backend: a.backendKey };
  }

  /** Counters of one pool (upstream `CountersForPool` plus the metric totals). */
  counters(poolName: string): PoolCounters | undefined {
    const ps = this.pools.get(poolName);
    if (ps === undefined) return undefined;
    const a4 = ps.inUse(4);
    const a6 = ps.inUse(6);
    return {
      assignedIPv4: a4,
      assignedIPv6: a6,
      availableIPv4: ps.capacity.v4 - a4,
      availableIPv6: ps.capacity.v6 - a6,
      total: ps.capacity.total,
      totalIPv4: ps.capacity.v4,
      totalIPv6: ps.capacity.v6,
      inUse: a4 + a6,
    };
  }

  /** Pools whose counters may have changed since the last call (the pool-status writer drains this). */
  drainChangedPools(): string[] {
    const out = [...this.dirty].filter((n) => this.pools.has(n)).sort();
    this.dirty.clear();
    return out;
  }

  /** Internal: whether the lazily built holder entries exist yet (tests and diagnostics). */
  holderIndexBuilt(): boolean {
    return this.holders.isComplete;
  }

  /** Internal: pool state by name, for the explainer. */
  poolState(name: string): PoolState | undefined {
    return this.pools.get(name);
  }

  /** Internal: every pool state in name order, for the explainer. */
  poolStates(): PoolState[] {
    return [...this.pools.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Internal: the reason the first address of a full-looking range was refused, for the explainer. */
  sharingRefusal(req: AllocRequest, ip: IpAddr): string | undefined {
    const r = this.checkSharing(req.key, ip, req.ports, req.sharingKey, req.backendKey);
    return r.ok ? undefined : r.error.detail === undefined ? r.error.message : `${r.error.message}: ${r.error.detail}`;
  }

  /** Internal: addresses of a pool family recorded under a sharing key (ascending, at most `limit`). */
  sharedAddresses(key: string, family: IpFamily, first: bigint, last: bigint, limit: number): bigint[] {
    const set = this.shareIndex.members(key, family);
    const out: bigint[] = [];
    for (let m = set?.nextMember(first); set && m !== undefined && m <= last && out.length < limit; m = set.nextMember(m + 1n)) out.push(m);
    return out;
  }
}

const NO_POOLS: readonly PoolState[] = [];

const NO_AVAILABLE: AllocResult<readonly IpAddr[]> = { ok: false, error: { code: AllocErrorCode.NoAvailableIps, message: 'no available IPs' } };

/** Sort key of a pinned pool: its positive priority, or last for priority 0. */
function priorityRank(p: PoolState): number {
  const v = p.pool.serviceAllocation?.priority ?? 0;
  return v > 0 ? v : Number.MAX_SAFE_INTEGER;
}
