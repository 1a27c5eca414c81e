/**
 * A set of BigInt values stored as sorted, disjoint, non-adjacent inclusive intervals, so memory
 * is proportional to the number of runs of members, never to the size of the universe (an IPv6
 * /48 costs the same as a /30). Intervals live in chunks of at most MAX_CHUNK entries (a flat
 * B-tree of depth one): lookups are two binary searches, inserts and deletes move at most one
 * chunk, so every operation is O(log n + MAX_CHUNK) however fragmented the set becomes.
 */

const MAX_CHUNK = 128;
const MIN_CHUNK = MAX_CHUNK / 4;

interface Chunk {
  starts: bigint[];
  ends: bigint[];
}

/** Position of one interval: chunk index and index inside the chunk. */
interface Pos {
  c: number;
  i: number;
}

/** One inclusive interval of members. */
export interface Interval {
  readonly first: bigint;
  readonly last: bigint;
}

/** Sorted interval set over BigInt; see the file comment for costs. */
export class IntervalSet {
  private chunks: Chunk[] = [];
  private count = 0n;
  private runs = 0;

  /** Number of members. */
  get size(): bigint {
    return this.count;
  }

  /** Number of stored intervals (maximal runs of consecutive members). */
  get intervalCount(): number {
    return this.runs;
  }

  /** Position of the last interval whose start is <= v, or undefined if none. */
  private locate(v: bigint): Pos | undefined {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    let c = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((chunks[mid] as Chunk).starts[0] as bigint <= v) {
        c = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (c < 0) return undefined;
    const starts = (chunks[c] as Chunk).starts;
    lo = 0;
    hi = starts.length - 1;
    let i = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] as bigint) <= v) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return { c, i };
  }

  private chunk(c: number): Chunk {
    return this.chunks[c] as Chunk;
  }

  private startAt(p: Pos): bigint {
    return this.chunk(p.c).starts[p.i] as bigint;
  }

  private endAt(p: Pos): bigint {
    return this.chunk(p.c).ends[p.i] as bigint;
  }

  /** Position after p (or the first position when p is undefined). */
  private successor(p: Pos | undefined): Pos | undefined {
    if (p === undefined) return this.chunks.length > 0 ? { c: 0, i: 0 } : undefined;
    if (p.i + 1 < this.chunk(p.c).starts.length) return { c: p.c, i: p.i + 1 };
    return p.c + 1 < this.chunks.length ? { c: p.c + 1, i: 0 } : undefined;
  }

  /** Insert [s, e] right after p (or at the very front when p is undefined). */
  private insertAfter(p: Pos | undefined, s: bigint, e: bigint): void {
    this.runs++;
    if (this.chunks.length === 0) {
      this.chunks.push({ starts: [s], ends: [e] });
      return;
    }
    const c = p === undefined ? 0 : p.c;
    const i = p === undefined ? 0 : p.i + 1;
    const ch = this.chunk(c);
    ch.starts.splice(i, 0, s);
    ch.ends.splice(i, 0, e);
    if (ch.starts.length > MAX_CHUNK) {
      const half = ch.starts.length >> 1;
      const next: Chunk = { starts: ch.starts.splice(half), ends: ch.ends.splice(half) };
      this.chunks.splice(c + 1, 0, next);
    }
  }

  private deleteAt(p: Pos): void {
    this.runs--;
    const ch = this.chunk(p.c);
    ch.starts.splice(p.i, 1);
    ch.ends.splice(p.i, 1);
    if (ch.starts.length === 0) {
      this.chunks.splice(p.c, 1);
      return;
    }
    // Merge a small chunk into its right neighbour so chunk count stays near n / MAX_CHUNK.
    const right = this.chunks[p.c + 1];
    if (ch.starts.length < MIN_CHUNK && right !== undefined && ch.starts.length + right.starts.length <= MAX_CHUNK) {
      ch.starts.push(...right.starts);
      ch.ends.push(...right.ends);
      this.chunks.splice(p.c + 1, 1);
    }
  }

  /** True if v is a member. */
  has(v: bigint): boolean {
    const p = this.locate(v);
    return p !== undefined && this.endAt(p) >= v;
  }

  /** Add v; returns false if it was already a member. */
  add(v: bigint): boolean {
    const p = this.locate(v);
    const leftAdjacent = p !== undefined && this.endAt(p) === v - 1n;
    if (p !== undefined && this.endAt(p) >= v) return false;
    const n = this.successor(p);
    const rightAdjacent = n !== undefined && this.startAt(n) === v + 1n;
    this.count++;
    if (leftAdjacent && rightAdjacent) {
      const end = this.endAt(n);
      this.chunk(p.c).ends[p.i] = end;
      this.deleteAt(n);
    } else if (leftAdjacent) {
      this.chunk(p.c).ends[p.i] = v;
    } else if (rightAdjacent) {
      this.chunk(n.c).starts[n.i] = v;
    } else {
      this.insertAfter(p, v, v);
    }
    return true;
  }

  /** Remove v; returns false if it was not a member. */
  remove(v: bigint): boolean {
    const p = this.locate(v);
    if (p === undefined) return false;
    const s = this.startAt(p);
    const e = this.endAt(p);
    if (e < v) return false;
    this.count--;
    const ch = this.chunk(p.c);
    if (s === e) this.deleteAt(p);
    else if (s === v) ch.starts[p.i] = v + 1n;
    else if (e === v) ch.ends[p.i] = v - 1n;
    else {
      ch.ends[p.i] = v - 1n;
      this.insertAfter(p, v + 1n, e);
    }
    return true;
  }

  /**
   * The smallest non-member in [lo, hi], or undefined when all of it is taken. O(log n): the
   * interval covering lo (if any) ends right before a non-member, because intervals never touch.
   */
  firstFree(lo: bigint, hi: bigint): bigint | undefined {
    if (lo > hi) return undefined;
    const p = this.locate(lo);
    if (p === undefined) return lo;
    const e = this.endAt(p);
    if (e < lo) return lo;
    return e + 1n <= hi ? e + 1n : undefined;
  }

  /**
   * The smallest non-member in [lo, hi] accepted by `nextAllowed`, which maps a value to the
   * smallest allowed value >= it (or undefined). Cost grows with the number of runs and
   * disallowed values crossed, so hot paths should map disallowed values out instead.
   */
  firstFreeWhere(lo: bigint, hi: bigint, nextAllowed: (v: bigint) => bigint | undefined): bigint | undefined {
    let v: bigint | undefined = lo;
    while (v !== undefined && v <= hi) {
      const free = this.firstFree(v, hi);
      if (free === undefined) return undefined;
      v = nextAllowed(free);
      if (v === free) return v;
    }
    return undefined;
  }

  /** The smallest member >= v, or undefined. */
  nextMember(v: bigint): bigint | undefined {
    const p = this.locate(v);
    if (p !== undefined && this.endAt(p) >= v) return v;
    const n = this.successor(p);
    return n === undefined ? undefined : this.startAt(n);
  }

  /** Iterate the intervals in ascending order. */
  *intervals(): IterableIterator<Interval> {
    for (const ch of this.chunks) {
      for (let i = 0; i < ch.starts.length; i++) yield { first: ch.starts[i] as bigint, last: ch.ends[i] as bigint };
    }
  }

  /** Iterate members in ascending order (beware of huge intervals). */
  *values(): IterableIterator<bigint> {
    for (const { first, last } of this.intervals()) {
      for (let v = first; v <= last; v++) yield v;
    }
  }

  /** Remove every member. */
  clear(): void {
    this.chunks = [];
    this.count = 0n;
    this.runs = 0;
  }
}
