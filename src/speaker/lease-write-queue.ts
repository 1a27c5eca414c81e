/**
 * The pace of one speaker's VIP Lease writes (docs/speaker.md "API cost"). In steady state the
 * election writes no VIP Lease at all; writes come in bursts: the first acquisition of every VIP
 * at start-up, and the takeover of every VIP of a node that died (3,000 VIPs at once). Issued all
 * at once, such a burst overruns the apiserver's `--max-requests-inflight` budget for mutating
 * requests (200 by default), its 429 answers count as failed writes (lease-write-health.ts), and
 * the whole cluster then waits a lease duration before judging any holder gone. So each speaker
 * runs its VIP Lease writes through one queue: at most `maxInFlight` at a time and a token bucket
 * of `perSec` writes a second, takeovers first. The presence Lease never waits here: it is the
 * liveness of every VIP this node holds.
 *
 * The bucket holds `burst + takeoverBurst` tokens; ordinary writes (first acquisitions, releases,
 * MAC updates) may only spend those above `takeoverBurst`. That reserve is what lets a takeover
 * (a VIP nobody serves until its write lands) go out at the pace of `maxInFlight` and the
 * apiserver's latency rather than at `perSec`: a node's worth of takeovers is over in well under a
 * second instead of `VIPs / perSec` seconds, while the apiserver still never sees more than
 * `maxInFlight` writes in flight, nor more than `burst + takeoverBurst + perSec * t` in any `t`
 * seconds, from one speaker. A start-up burst of acquisitions cannot eat into the reserve.
 *
 * The queue holds keys (IPs), not writes: when a slot frees, the shell decides again what the
 * VIP needs, from the latest view, so a write queued behind a burst never acts on a stale one.
 */
import type { Clock } from '../util/clock';

/** Write budget of one speaker. */
export interface WriteBudget {
  /** Writes in flight at most. */
  readonly maxInFlight: number;
  /** Sustained writes per second. */
  readonly perSec: number;
  /** Writes of any kind that may start at once after a quiet spell. */
  readonly burst: number;
  /** More tokens that only takeovers may spend (0 when absent): a node's worth of VIPs. */
  readonly takeoverBurst?: number;
}

/**
 * The defaults: 32 in flight per speaker stays well inside the apiserver's 200 mutating requests
 * in flight with a handful of speakers all taking over at once; a takeover reserve of 3,000 lets
 * one successor take all the VIPs of a node with 3,000 in one burst (bench/l2-mass-takeover.ts);
 * 250 writes/s is the pace once burst and reserve are spent, and refills the reserve in 12 s.
 */
export const DEFAULT_WRITE_BUDGET: WriteBudget = { maxInFlight: 32, perSec: 250, burst: 250, takeoverBurst: 3_000 };

/** A token bucket: `tokens` available at `atMs`. */
export interface Bucket {
  readonly tokens: number;
  readonly atMs: number;
}

/** Priority of a queued write: lower runs first. */
export const WritePriority = {
  /** A takeover or handover: a VIP nobody serves until it lands. */
  Takeover: 0,
  /** A first acquisition, a release, a MAC update. */
  Normal: 1,
} as const;
export type WritePriority = (typeof WritePriority)[keyof typeof WritePriority];

/** Tokens a full bucket holds. */
export function capacity(budget: WriteBudget): number {
  return budget.burst + (budget.takeoverBurst ?? 0);
}

/** Tokens a write of `priority` must leave in the bucket: ordinary writes keep off the reserve. */
export function floorFor(priority: WritePriority, budget: WriteBudget): number {
  return priority === WritePriority.Takeover ? 0 : (budget.takeoverBurst ?? 0);
}

/** The bucket at `nowMs`: refilled at `perSec`, capped at {@link capacity}. */
export function refill(b: Bucket, nowMs: number, budget: WriteBudget): Bucket {
  const tokens = Math.min(capacity(budget), b.tokens + (Math.max(0, nowMs - b.atMs) * budget.perSec) / 1000);
  return { tokens, atMs: nowMs };
}

/**
 * Milliseconds until a bucket refilled at its own `atMs` holds one whole token above `floor`
 * (0: now).
 */
export function msToNextToken(b: Bucket, budget: WriteBudget, floor = 0): number {
  const need = floor + 1 - b.tokens;
  return need <= 0 ? 0 : Math.ceil((need * 1000) / budget.perSec);
}

/**
 * What the shell does when a queued key's turn comes, `queuedMs` after it was first requested: a
 * write to run now, or undefined when the VIP needs none any more (it costs no token).
 */
export type WriteTurn = (key: string, queuedMs: number) => Promise<void> | undefined;

/** Paced VIP Lease writes of one speaker. */
export class LeaseWriteQueue {
  /** Per priority, waiting keys and when each was first requested (insertion order is the turn). */
  private readonly queued: Map<string, number>[] = [new Map(), new Map()];
  private bucket: Bucket;
  private inFlight = 0;
  private timer: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly budget: WriteBudget,
    private readonly turn: WriteTurn,
  ) {
    this.bucket = { tokens: capacity(budget), atMs: clock.now() };
  }

  /** Keys waiting for their turn. */
  get waiting(): number {
    return this.queued[0]!.size + this.queued[1]!.size;
  }

  /** Ask for a write for `key`; a key already waiting keeps its place (and the higher priority). */
  request(key: string, priority: WritePriority): void {
    const normal = this.queued[WritePriority.Normal]!;
    const since = normal.get(key);
    if (priority === WritePriority.Takeover && since !== undefined) {
      normal.delete(key);
      this.queued[priority]!.set(key, since);
    } else if (!this.queued.some((q) => q.has(key))) this.queued[priority]!.set(key, this.clock.now());
    this.pump();
  }

  /** Takeovers waiting for their turn (not counting those in flight). */
  get takeoversWaiting(): number {
    return this.queued[WritePriority.Takeover]!.size;
  }

  /** Drop everything queued and the refill timer (stop). */
  clear(): void {
    for (const q of this.queued) q.clear();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The priority whose head runs next (the highest with a key waiting). */
  private head(): WritePriority | undefined {
    const p = this.queued.findIndex((q) => q.size > 0);
    return p < 0 ? undefined : (p as WritePriority);
  }

  private pump(): void {
    for (let p = this.head(); p !== undefined && this.inFlight < this.budget.maxInFlight; p = this.head()) {
      this.bucket = refill(this.bucket, this.clock.now(), this.budget);
      const floor = floorFor(p, this.budget);
      const waitMs = msToNextToken(this.bucket, this.budget, floor);
      if (waitMs > 0) {
        this.timer ??= this.clock.setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, waitMs);
        return;
      }
      const q = this.queued[p]!;
      const [key, since] = q.entries().next().value!;
      q.delete(key);
      const write = this.turn(key, this.clock.now() - since);
      if (!write) continue;
      this.bucket = { tokens: this.bucket.tokens - 1, atMs: this.bucket.atMs };
      this.inFlight++;
      void write.finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }
}
