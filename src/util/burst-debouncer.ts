/**
 * Coalesce a burst of triggers into one run of an expensive, synchronous job (a full
 * configuration parse). Without it every watch event re-parses everything, so loading N objects
 * one by one costs O(N²) (docs/controller.md, "Configuration reload").
 *
 * A pending run starts when the first of these is reached:
 * - `quietMs` after the latest trigger (the burst has settled);
 * - `maxDelayMs` after the first trigger of the burst (a steady trickle cannot starve it);
 * but never sooner than max(`minIntervalMs`, `costFactor` × its duration) after the previous run
 * ended: a stream with short pauses costs at most one run per `minIntervalMs`, and a stream that
 * never settles leaves the job at most 1 / (1 + costFactor) of a core.
 * So a change is acted on within max(maxDelayMs, minIntervalMs, costFactor × previous run) of its
 * arrival, and within quietMs when it comes alone.
 */
import type { Clock } from './clock';

/** Bounds of a {@link BurstDebouncer}. */
export interface DebounceBounds {
  /** Run once no trigger came for this long. */
  readonly quietMs: number;
  /** Run at the latest this long after the first trigger of a burst. */
  readonly maxDelayMs: number;
  /** Leave at least this long between the end of one run and the start of the next. */
  readonly minIntervalMs: number;
  /** Leave at least this many times the previous run's duration between two runs. */
  readonly costFactor: number;
}

/** What the debouncer has done so far, for metrics and logs. */
export interface DebounceStats {
  readonly runs: number;
  readonly triggers: number;
  /** Duration of the latest run. */
  readonly lastRunMs: number;
}

/** See the module comment. `job` must be synchronous: its duration is what spaces the runs. */
export class BurstDebouncer {
  private burstStart: number | undefined;
  private lastTrigger = 0;
  private lastRunEnd = Number.NEGATIVE_INFINITY;
  private lastRunMs = 0;
  private timer: unknown;
  private timerAt = 0;
  private runs = 0;
  private triggers = 0;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly bounds: DebounceBounds,
    private readonly job: () => void,
  ) {}

  /** A change arrived: run the job once the burst settles (within the bounds). */
  trigger(): void {
    if (this.stopped) return;
    this.triggers++;
    const now = this.clock.now();
    this.lastTrigger = now;
    this.burstStart ??= now;
    // Arm only when no timer would fire by the due time; a timer firing early re-arms itself,
    // so a burst of 10,000 triggers costs a handful of timers, not 10,000.
    if (this.timer === undefined) this.arm(this.dueAt());
  }

  /** Run now if a run is pending (the caller is about to need a fresh result). */
  flush(): void {
    if (this.burstStart !== undefined) this.runNow();
  }

  /** Run now whether or not anything is pending. */
  runNow(): void {
    this.disarm();
    this.burstStart = undefined;
    const start = this.clock.now();
    try {
      this.job();
    } finally {
      const end = this.clock.now();
      this.runs++;
      this.lastRunMs = end - start;
      this.lastRunEnd = end;
    }
  }

  /** Drop any pending run; later triggers are ignored. */
  stop(): void {
    this.stopped = true;
    this.disarm();
    this.burstStart = undefined;
  }

  /** True while a run is pending. */
  get pending(): boolean {
    return this.burstStart !== undefined;
  }

  get stats(): DebounceStats {
    return { runs: this.runs, triggers: this.triggers, lastRunMs: this.lastRunMs };
  }

  /** When the pending run is due (see the module comment). */
  private dueAt(): number {
    const start = this.burstStart ?? this.lastTrigger;
    const settled = Math.min(this.lastTrigger + this.bounds.quietMs, start + this.bounds.maxDelayMs);
    return Math.max(settled, this.lastRunEnd + Math.max(this.bounds.minIntervalMs, this.bounds.costFactor * this.lastRunMs));
  }

  private arm(at: number): void {
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    if (this.burstStart === undefined || this.stopped) return;
    const due = this.dueAt();
    if (due > this.clock.now() && due > this.timerAt) {
      this.arm(due);
      return;
    }
    this.runNow();
  }
}
