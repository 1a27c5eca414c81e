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

/**
 * Position of one interval packed into one number (chunk * POS_STRIDE + index), so lookups
 * allocate nothing; -1 means "before the first interval".
 */
type Pos = number;
const POS_STRIDE = 256; // > MAX_CHUNK + 1, the largest transient chunk length
const NONE: Pos = -1;

function posChunk(p: Pos): number {
  return Math.floor(p / POS_STRIDE);
}

function posIndex(p: Pos): number {
  return p % POS_STRIDE;
}

/** One inclusive interval of members. */
export interface Interval {
  readonly first: bigint;
  readonly last: bigint;
}

/** Sorted interval set over BigInt; see the file comment for costs. */
export class IntervalSet {
  private chunks: Chunk[] = [];
  /**
   * A number, not a BigInt: members arrive one `add` at a time, so the count cannot pass 2^53,
   * and a BigInt counter would allocate on every add and remove.
   */
  private count = 0;
  private runs = 0;

  /** Number of members. */
  get size(): bigint {
    return BigInt(this.count);
  }

  /** Number of stored intervals (maximal runs of consecutive members). */
  get intervalCount(): number {
    return this.runs;
  }

  /** Position of the last interval whose start is <= v, or NONE. */
  private locate(v: bigint): Pos {
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
    if (c < 0) return NONE;
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
    return c * POS_STRIDE + i;
  }

  private chunk(c: number): Chunk {
    return this.chunks[c] as Chunk;
  }

  private startAt(p: Pos): bigint {
    return this.chunk(posChunk(p)).starts[posIndex(p)] as bigint;
  }

  private endAt(p: Pos): bigint {
    return this.chunk(posChunk(p)).ends[posIndex(p)] as bigint;
  }

  private setStart(p: Pos, v: bigint): void {
    this.chunk(posChunk(p)).starts[posIndex(p)] = v;
  }

  private setEnd(p: Pos, v: bigint): void {
    this.chunk(posChunk(p)).ends[posIndex(p)] = v;
  }

  /** Position after p (the first position when p is NONE), or NONE at the end. */
  private successor(p: Pos): Pos {
    if (p === NONE) return this.chunks.length > 0 ? 0 : NONE;
    const c = posChunk(p);
    const i = posIndex(p);
    if (i + 1 < this.chunk(c).starts.length) return p + 1;
    return c + 1 < this.chunks.length ? (c + 1) * POS_STRIDE : NONE;
  }

  /** Insert [s, e] right after p (or at the very front when p is NONE). */
  private insertAfter(p: Pos, s: bigint, e: bigint): void {
    this.runs++;
    if (this.chunks.length === 0) {
      this.chunks.push({ starts: [s], ends: [e] });
      return;
    }
    const c = p === NONE ? 0 : posChunk(p);
    const i = p === NONE ? 0 : posIndex(p) + 1;
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
    const c = posChunk(p);
    const ch = this.chunk(c);
    ch.starts.splice(posIndex(p), 1);
    ch.ends.splice(posIndex(p), 1);
    if (ch.starts.length === 0) {
      this.chunks.splice(c, 1);
      return;
    }
    // Merge a small chunk into its right neighbour so chunk count stays near n / MAX_CHUNK.
    const right = this.chunks[c + 1];
    if (ch.starts.length < MIN_CHUNK && right !== undefined && ch.starts.length + right.starts.length <= MAX_CHUNK) {
      ch.starts.push(...right.starts);
      ch.ends.push(...right.ends);
      this.chunks.splice(c + 1, 1);
    }
  }

  /** True if v is a member. */
  has(v: bigint): boolean {
    const p = this.locate(v);
    return p !== NONE && this.endAt(p) >= v;
  }

  /** Add v; returns false if it was already a member. */
  add(v: bigint): boolean {
    const p = this.locate(v);
    const leftEnd = p === NONE ? undefined : this.endAt(p);
    if (leftEnd !== undefined && leftEnd >= v) return false;
    const leftAdjacent = leftEnd !== undefined && leftEnd + 1n === v;
    const n = this.successor(p);
    const rightAdjacent = n !== NONE && this.startAt(n) - 1n === v;
    this.count++;
    if (leftAdjacent && rightAdjacent) {
      this.setEnd(p, this.endAt(n));
      this.deleteAt(n);
    } else if (leftAdjacent) {
      this.setEnd(p, v);
    } else if (rightAdjacent) {
      this.setStart(n, v);
    } else {
      this.insertAfter(p, v, v);
    }
    return true;
  }

  /** Remove v; returns false if it was not a member. */
  remove(v: bigint): boolean {
    const p = this.locate(v);
    if (p === NONE) return false;
    const s = this.startAt(p);
    const e = this.endAt(p);
    if (e < v) return false;
    this.count--;
    if (s === e) this.deleteAt(p);
    else if (s === v) this.setStart(p, v + 1n);
    else if (e === v) this.setEnd(p, v - 1n);
    else {
      this.setEnd(p, v - 1n);
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
    if (p === NONE) return lo;
    const e = this.endAt(p);
    if (e < lo) return lo;
    const next = e + 1n;
    return next <= hi ? next : undefined;
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
    if (p !== NONE && this.endAt(p) >= v) return v;
    const n = this.successor(p);
    return n === NONE ? undefined : this.startAt(n);
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
    this.count = 0;
    this.runs = 0;
  }
}
