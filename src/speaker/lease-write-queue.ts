/**
 * The pace of one speaker's VIP Lease writes (docs/speaker.md "API cost"). In steady state the
 * election writes no VIP Lease at all; writes come in bursts: the first acquisition of every VIP
 * at start-up, and the takeover of every VIP of a node that died (3,000 VIPs at once). Issued all
 * at once, such a burst overruns the apiserver's `--max-requests-inflight` budget for mutating
 * requests (200 by default), its 429 answers count as failed writes (lease-write-health.ts), and
 * the whole cluster then waits a lease duration before judging any holder gone. So each speaker
 * runs its VIP Lease writes through one queue: at most `maxInFlight` at a time and a token bucket
 * of `perSec` writes a second with a burst of `burst`, takeovers first. The presence Lease never
 * waits here: it is the liveness of every VIP this node holds.
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
  /** Writes that may start at once after a quiet spell. */
  readonly burst: number;
}

/**
 * The defaults: 32 in flight per speaker stays well inside the apiserver's 200 mutating requests
 * in flight with a handful of speakers all taking over at once; 250 writes/s moves the 1,500 VIPs
 * each of two successors takes from a dead node with 3,000 in about 6 s.
 */
export const DEFAULT_WRITE_BUDGET: WriteBudget = { maxInFlight: 32, perSec: 250, burst: 250 };

/** A token bucket: `tokens` available at `atMs`. */
export interface Bucket {
  readonly tokens: number;
  readonly atMs: number;
}

/** The bucket at `nowMs`: refilled at `perSec`, capped at `burst`. */
export function refill(b: Bucket, nowMs: number, budget: WriteBudget): Bucket {
  const tokens = Math.min(budget.burst, b.tokens + (Math.max(0, nowMs - b.atMs) * budget.perSec) / 1000);
  return { tokens, atMs: nowMs };
}

/** Milliseconds until a bucket refilled at its own `atMs` holds one whole token (0: now). */
export function msToNextToken(b: Bucket, budget: WriteBudget): number {
  return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * 1000) / budget.perSec);
}

/** Priority of a queued write: lower runs first. */
export const WritePriority = {
  /** A takeover or handover: a VIP nobody serves until it lands. */
  Takeover: 0,
  /** A first acquisition, a release, a MAC update. */
  Normal: 1,
} as const;
export type WritePriority = (typeof WritePriority)[keyof typeof WritePriority];

/**
 * What the shell does when a queued key's turn comes: a write to run now, or undefined when the
 * VIP needs none any more (it costs no token).
 */
export type WriteTurn = (key: string) => Promise<void> | undefined;

/** Paced VIP Lease writes of one speaker. */
export class LeaseWriteQueue {
  private readonly queued: Set<string>[] = [new Set(), new Set()];
  private bucket: Bucket;
  private inFlight = 0;
  private timer: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly budget: WriteBudget,
    private readonly turn: WriteTurn,
  ) {
    this.bucket = { tokens: budget.burst, atMs: clock.now() };
  }

  /** Keys waiting for their turn. */
  get waiting(): number {
    return this.queued[0]!.size + this.queued[1]!.size;
  }

  /** Ask for a write for `key`; a key already waiting keeps its place (and the higher priority). */
  request(key: string, priority: WritePriority): void {
    if (priority === WritePriority.Takeover && this.queued[WritePriority.Normal]!.delete(key)) this.queued[priority]!.add(key);
    else if (!this.queued.some((q) => q.has(key))) this.queued[priority]!.add(key);
    this.pump();
  }

  /** Drop everything queued and the refill timer (stop). */
  clear(): void {
    for (const q of this.queued) q.clear();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private next(): string | undefined {
    for (const q of this.queued) {
      const first = q.values().next();
      if (!first.done) {
        q.delete(first.value);
        return first.value;
      }
    }
    return undefined;
  }

  private pump(): void {
    while (this.waiting > 0 && this.inFlight < this.budget.maxInFlight) {
      this.bucket = refill(this.bucket, this.clock.now(), this.budget);
      const waitMs = msToNextToken(this.bucket, this.budget);
      if (waitMs > 0) {
        this.timer ??= this.clock.setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, waitMs);
        return;
      }
      const key = this.next()!;
      const write = this.turn(key);
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
