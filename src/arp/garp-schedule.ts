/**
 * When to send gratuitous ARP / unsolicited NA for each announced IP, as a clock-free state machine:
 * the shell passes `nowMs` in and arms one timer for nextDueMs(). Unit tests drive it with numbers.
 *
 * Upstream (docs/upstream-behaviour.md §4.5) announces at once on every (re)announce and then every
 * 1100 ms until 5 s after the last trigger: rounds at t ≈ 0, 1.1, 2.2, 3.3, 4.4 s. We keep that
 * burst by default and add a periodic refresh afterwards (upstream has none, so switch FDBs and
 * router caches age out between reconciles, docs/upstream-behaviour.md §11.9).
 */

/** Burst and refresh timing. */
export interface GarpTiming {
  /** Announcements in a burst, the first one immediate. */
  burstCount: number;
  /** Spacing between burst announcements. */
  burstIntervalMs: number;
  /** After a burst, re-announce every this many ms; 0 disables the refresh. */
  refreshIntervalMs: number;
}

/**
 * Defaults: upstream's burst (5 rounds, 1100 ms apart, spanning 4.4 s) and a refresh every 60 s,
 * well inside the 300 s default MAC ageing of Linux bridges and most switches.
 */
export const DEFAULT_GARP_TIMING: GarpTiming = { burstCount: 5, burstIntervalMs: 1100, refreshIntervalMs: 60_000 };

/** Refresh rounds due within this window of each other are sent together, to fire fewer timers. */
const REFRESH_COALESCE_MS = 1000;

interface Entry {
  phase: 'burst' | 'refresh';
  /** In a burst: announcements still to send (the one at nextAtMs included). */
  left: number;
  nextAtMs: number;
}

/** Per-IP burst/refresh schedule. */
export class GarpSchedule {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly timing: GarpTiming = DEFAULT_GARP_TIMING) {
    if (!(timing.burstCount >= 1) || !(timing.burstIntervalMs >= 0) || !(timing.refreshIntervalMs >= 0)) {
      throw new RangeError(`invalid GARP timing ${JSON.stringify(timing)}`);
    }
  }

  /**
   * An IP was (re)announced. Returns true when the caller must announce it now: always outside a
   * burst; inside a running burst the burst is only extended, as upstream resets its window end.
   */
  trigger(ip: string, nowMs: number): boolean {
    const e = this.entries.get(ip);
    if (e !== undefined && e.phase === 'burst') {
      e.left = this.timing.burstCount - 1;
      return false;
    }
    this.schedule(ip, this.timing.burstCount - 1, nowMs);
    return true;
  }

  /** Stop announcing `ip`. */
  remove(ip: string): void {
    this.entries.delete(ip);
  }

  /** Forget everything. */
  clear(): void {
    this.entries.clear();
  }

  /** IPs to announce at `nowMs`; advances their schedule. */
  takeDue(nowMs: number): string[] {
    const due: string[] = [];
    for (const [ip, e] of this.entries) {
      const slack = e.phase === 'refresh' ? REFRESH_COALESCE_MS : 0;
      if (e.nextAtMs > nowMs + slack) continue;
      due.push(ip);
      this.schedule(ip, e.phase === 'burst' ? e.left - 1 : 0, nowMs);
    }
    return due;
  }

  /** When the next announcement is due, or undefined when nothing is scheduled. */
  nextDueMs(): number | undefined {
    let next: number | undefined;
    for (const e of this.entries.values()) if (next === undefined || e.nextAtMs < next) next = e.nextAtMs;
    return next;
  }

  /** Number of IPs with a schedule. */
  get size(): number {
    return this.entries.size;
  }

  /** After an announcement at `nowMs` with `left` burst announcements still to go. */
  private schedule(ip: string, left: number, nowMs: number): void {
    if (left > 0) this.entries.set(ip, { phase: 'burst', left, nextAtMs: nowMs + this.timing.burstIntervalMs });
    else if (this.timing.refreshIntervalMs > 0) this.entries.set(ip, { phase: 'refresh', left: 0, nextAtMs: nowMs + this.timing.refreshIntervalMs });
    else this.entries.delete(ip);
  }
}
