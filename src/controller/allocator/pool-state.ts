/**
 * Runtime state of one pool: its scan ranges, which of its addresses are in use, its capacity.
 *
 * Addresses in use are kept in an IntervalSet per family in "rank space". For most pools the
 * rank of an address is the address. For an `avoidBuggyIPs` pool, IPv4 ranks skip every .0 and
 * .255 (254 ranks per /24), so finding the first usable free address is one interval lookup
 * instead of a walk that steps over two forbidden addresses per /24
 * (docs/upstream-behaviour.md §10.2: buggy addresses are skipped in every /24 whatever the pool's
 * prefix length).
 */
import type { Pool } from '../../config/types';
import type { IpCidr } from '../../net/cidr';
import { isBuggyIp, type IpAddr, type IpFamily } from '../../net/ip';
import { IntervalSet } from './ip-interval-set';
import { MAX_INT64 } from './types';

/** A maximal run of consecutive CIDRs of one family, in the pool's scan order. */
export interface ScanRange {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
  /** Rank bounds; rankFirst > rankLast when the range holds no usable address. */
  readonly rankFirst: bigint;
  readonly rankLast: bigint;
}

/** Pool capacity per upstream `poolCount` (§3.12), saturating instead of overflowing. */
export interface PoolCapacity {
  readonly total: bigint;
  readonly v4: bigint;
  readonly v6: bigint;
}

function satAdd(a: bigint, b: bigint): bigint {
  return a + b >= MAX_INT64 ? MAX_INT64 : a + b;
}

/**
 * Capacity as upstream counts it: 2^hostBits per CIDR, MaxInt64 once a CIDR has 62 or more host
 * bits, minus two buggy addresses per /24 (or the .0/.255 ends of smaller CIDRs) when
 * avoidBuggyIPs. Upstream lets the sum overflow when such a huge CIDR is not the last one;
 * we saturate at MaxInt64 instead.
 */
export function poolCapacity(cidrs: readonly IpCidr[], avoidBuggyIPs: boolean): PoolCapacity {
  let total = 0n;
  let v4 = 0n;
  let v6 = 0n;
  for (const c of cidrs) {
    const hostBits = (c.family === 4 ? 32 : 128) - c.prefixLength;
    if (hostBits >= 62) {
      total = MAX_INT64;
      v6 = MAX_INT64;
      continue;
    }
    let size = 1n << BigInt(hostBits);
    if (avoidBuggyIPs && c.family === 4) {
      if (c.prefixLength <= 24) size -= 2n * (1n << BigInt(24 - c.prefixLength));
      else {
        if (isBuggyIp({ family: 4, value: c.first })) size--;
        if (isBuggyIp({ family: 4, value: c.last })) size--;
      }
    }
    total = satAdd(total, size);
    if (c.family === 4) v4 = satAdd(v4, size);
    else v6 = satAdd(v6, size);
  }
  return { total, v4, v6 };
}

/** Smallest non-buggy IPv4 >= v. */
function nextUsableV4(v: bigint): bigint {
  const low = v & 0xffn;
  if (low === 0n) return v + 1n;
  if (low === 255n) return v + 2n;
  return v;
}

/** Largest non-buggy IPv4 <= v (may be negative when none exists). */
function prevUsableV4(v: bigint): bigint {
  const low = v & 0xffn;
  if (low === 255n) return v - 1n;
  if (low === 0n) return v - 2n;
  return v;
}

/** Mutable in-use bookkeeping of one pool; rebuilt from scratch on every config change. */
export class PoolState {
  readonly name: string;
  readonly pool: Pool;
  /** Scan ranges in upstream's order (CIDRs in `addresses` order, adjacent ones merged). */
  readonly ranges: readonly ScanRange[];
  readonly capacity: PoolCapacity;
  /** Families the pool has at least one usable address of. */
  readonly families: ReadonlySet<IpFamily>;
  private readonly used4 = new IntervalSet();
  private readonly used6 = new IntervalSet();
  private readonly compressV4: boolean;

  constructor(pool: Pool) {
    this.name = pool.name;
    this.pool = pool;
    this.compressV4 = pool.avoidBuggyIPs;
    this.capacity = poolCapacity(pool.cidrs, pool.avoidBuggyIPs);
    const merged: { family: IpFamily; first: bigint; last: bigint }[] = [];
    for (const c of pool.cidrs) {
      const prev = merged[merged.length - 1];
      // Merging only adjacent CIDRs that follow each other keeps the scan order identical.
      if (prev !== undefined && prev.family === c.family && prev.last + 1n === c.first) prev.last = c.last;
      else merged.push({ family: c.family, first: c.first, last: c.last });
    }
    this.ranges = merged.map((r) => this.scanRange(r.family, r.first, r.last));
    this.families = new Set(this.ranges.filter((r) => r.rankFirst <= r.rankLast).map((r) => r.family));
  }

  private scanRange(family: IpFamily, first: bigint, last: bigint): ScanRange {
    if (family === 4 && this.compressV4) {
      const f = nextUsableV4(first);
      const l = prevUsableV4(last);
      if (f > l) return { family, first, last, rankFirst: 1n, rankLast: 0n };
      return { family, first, last, rankFirst: this.rank(4, f), rankLast: this.rank(4, l) };
    }
    return { family, first, last, rankFirst: first, rankLast: last };
  }

  /** Rank of a usable address (see the file comment). */
  rank(family: IpFamily, v: bigint): bigint {
    if (family === 4 && this.compressV4) return (v >> 8n) * 254n + (v & 0xffn) - 1n;
    return v;
  }

  /** Address of a rank. */
  unrank(family: IpFamily, r: bigint): bigint {
    if (family === 4 && this.compressV4) return ((r / 254n) << 8n) | ((r % 254n) + 1n);
    return r;
  }

  /** True if this pool hands out `ip` (inside a CIDR and not buggy when avoidBuggyIPs). */
  contains(ip: IpAddr): boolean {
    if (this.pool.avoidBuggyIPs && isBuggyIp(ip)) return false;
    for (const r of this.ranges) if (r.family === ip.family && ip.value >= r.first && ip.value <= r.last) return true;
    return false;
  }

  private set(family: IpFamily): IntervalSet {
    return family === 4 ? this.used4 : this.used6;
  }

  /** Record an address as in use (by at least one service). */
  markUsed(family: IpFamily, value: bigint): void {
    this.set(family).add(this.rank(family, value));
  }

  /** Record an address as free. */
  markFree(family: IpFamily, value: bigint): void {
    this.set(family).remove(this.rank(family, value));
  }

  /** True if a Service holds this address of the pool. */
  isUsed(family: IpFamily, value: bigint): boolean {
    return this.set(family).has(this.rank(family, value));
  }

  /** Number of distinct addresses in use for a family. */
  inUse(family: IpFamily): bigint {
    return this.set(family).size;
  }

  /** The lowest unused usable address of a scan range, or undefined when the range is full. */
  firstFree(range: ScanRange): bigint | undefined {
    const r = this.set(range.family).firstFree(range.rankFirst, range.rankLast);
    return r === undefined ? undefined : this.unrank(range.family, r);
  }

  /** Memory diagnostics: stored intervals per family. */
  intervalCount(family: IpFamily): number {
    return this.set(family).intervalCount;
  }
}

interface TableEntry {
  readonly first: bigint;
  readonly last: bigint;
  readonly pool: PoolState;
}

/** Every range of every pool, sorted per family: which pool hands out an address, in O(log n). */
export class RangeTable {
  private readonly v4: TableEntry[] = [];
  private readonly v6: TableEntry[] = [];

  constructor(pools: Iterable<PoolState>) {
    for (const ps of pools) {
      for (const r of ps.ranges) (r.family === 4 ? this.v4 : this.v6).push({ first: r.first, last: r.last, pool: ps });
    }
    const byFirst = (a: TableEntry, b: TableEntry): number => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0);
    this.v4.sort(byFirst);
    this.v6.sort(byFirst);
  }

  /**
   * The pool whose ranges contain `ip`, unless that pool avoids buggy addresses and `ip` is one
   * (upstream `poolFor`; pools never overlap in a valid config, so one pool can match at most).
   */
  poolOf(ip: IpAddr): PoolState | undefined {
    const table = ip.family === 4 ? this.v4 : this.v6;
    let lo = 0;
    let hi = table.length - 1;
    let hit: TableEntry | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = table[mid] as TableEntry;
      if (e.first <= ip.value) {
        hit = e;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (hit === undefined || hit.last < ip.value) return undefined;
    if (hit.pool.pool.avoidBuggyIPs && isBuggyIp(ip)) return undefined;
    return hit.pool;
  }
}
