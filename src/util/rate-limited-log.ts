/**
 * Rate-limited logging. A flood of one warning (a peer's malformed UPDATEs, ARP conflicts from
 * one host) becomes the first `burst` lines of each window, then one line with the number of
 * lines folded away: on the next occurrence after the window (as a `suppressed` field) or, when
 * the flood stops, from a timer at the window's end. The decisions are a pure core
 * (`LogRateGate`, clock injected, no timers); `RateLimitedLog` is the shell that writes the
 * lines and runs the one timer. Lives in util so bgp and arp can both use it.
 */
import type { Clock } from './clock';
import type { Logger } from './log';

/** How much of one key gets logged. */
export interface RateLimitPolicy {
  /** Length of a window, from the first line of a key in it. */
  readonly intervalMs: number;
  /** Lines of one key logged per window before the rest are only counted. */
  readonly burst: number;
  /** Keys tracked at once; beyond that, new keys are counted together under OVERFLOW_KEY. */
  readonly maxKeys: number;
}

/** The key under which occurrences of untracked keys are counted once `maxKeys` is reached. */
export const OVERFLOW_KEY = '(other keys)';

/** Whether to log one occurrence; `suppressed` is the count of the key's previous window not yet reported. */
export type Admission<T> = { log: true; suppressed: number } | { log: false; payload?: T };

/** A window that ended with occurrences nobody logged. */
export interface FoldedReport<T> {
  key: string;
  suppressed: number;
  windowMs: number;
  /** What the caller attached to the key's last logged line (e.g. its message). */
  payload: T | undefined;
}

interface Window<T> {
  startMs: number;
  logged: number;
  suppressed: number;
  payload: T | undefined;
}

/** Pure decisions per key: which occurrences to log and which to count. */
export class LogRateGate<T = unknown> {
  private readonly windows = new Map<string, Window<T>>();

  constructor(
    readonly policy: RateLimitPolicy,
    private readonly now: () => number,
  ) {}

  /** Count one occurrence of `key`; `payload` is kept for the report of a window that ends suppressed. */
  admit(key: string, payload?: T): Admission<T> {
    const t = this.now();
    let w = this.windows.get(key);
    if (w === undefined) {
      if (this.windows.size >= this.policy.maxKeys) this.prune(t);
      if (this.windows.size >= this.policy.maxKeys) return this.admitOverflow(t, payload);
      this.windows.set(key, { startMs: t, logged: 1, suppressed: 0, payload });
      return { log: true, suppressed: 0 };
    }
    if (t - w.startMs >= this.policy.intervalMs) {
      // A new window starts with this line, which carries the old window's count.
      const carried = w.suppressed;
      w = { startMs: t, logged: 1, suppressed: 0, payload };
      this.windows.set(key, w);
      return { log: true, suppressed: carried };
    }
    if (w.logged < this.policy.burst) {
      w.logged++;
      w.payload = payload;
      return { log: true, suppressed: 0 };
    }
    w.suppressed++;
    return { log: false };
  }

  private admitOverflow(t: number, payload: T | undefined): Admission<T> {
    const o = this.windows.get(OVERFLOW_KEY);
    if (o !== undefined && t - o.startMs < this.policy.intervalMs) {
      o.suppressed++;
      return { log: false };
    }
    // The overflow bucket may exceed maxKeys by one: it is what keeps the count bounded.
    this.windows.set(OVERFLOW_KEY, { startMs: t, logged: 0, suppressed: 1 + (o?.suppressed ?? 0), payload });
    return { log: false };
  }

  /** Drop windows that are over and owe no report. */
  private prune(t: number): void {
    for (const [key, w] of this.windows) if (w.suppressed === 0 && t - w.startMs >= this.policy.intervalMs) this.windows.delete(key);
  }

  /** Windows that are over with a count nobody logged yet: returned once, then forgotten. */
  due(): FoldedReport<T>[] {
    const t = this.now();
    const out: FoldedReport<T>[] = [];
    for (const [key, w] of this.windows) {
      if (t - w.startMs < this.policy.intervalMs) continue;
      if (w.suppressed > 0) out.push({ key, suppressed: w.suppressed, windowMs: t - w.startMs, payload: w.payload });
      this.windows.delete(key);
    }
    return out;
  }

  /** Every pending count now, window over or not (at shutdown); the gate starts empty. */
  drainAll(): FoldedReport<T>[] {
    const t = this.now();
    const out: FoldedReport<T>[] = [];
    for (const [key, w] of this.windows) if (w.suppressed > 0) out.push({ key, suppressed: w.suppressed, windowMs: t - w.startMs, payload: w.payload });
    this.windows.clear();
    return out;
  }

  /** When the earliest window owing a report ends, or undefined when none owes one. */
  nextDueAt(): number | undefined {
    let at: number | undefined;
    for (const w of this.windows.values()) {
      if (w.suppressed === 0) continue;
      const end = w.startMs + this.policy.intervalMs;
      if (at === undefined || end < at) at = end;
    }
    return at;
  }

  /** Keys tracked now (bounded by maxKeys + 1). */
  get size(): number {
    return this.windows.size;
  }
}

/** A cancellable one-shot timer. */
export interface TimerHandle {
  cancel(): void;
}

/** Clock and timer of the shell; the defaults are the real ones (timers unref'd). */
export interface RateLimitedLogDeps {
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => TimerHandle;
}

/** The shell's clock and timer from an injected {@link Clock} (a fake one in tests). */
export function rateLimitDepsOn(clock: Clock): RateLimitedLogDeps {
  return {
    now: () => clock.now(),
    setTimer: (fn, ms) => {
      const h = clock.setTimeout(fn, ms);
      return { cancel: () => clock.clearTimeout(h) };
    },
  };
}

type Level = 'error' | 'warn' | 'info' | 'debug';

interface Payload {
  level: Level;
  event: unknown;
  msg: string;
}

function realTimer(fn: () => void, ms: number): TimerHandle {
  const h = setTimeout(fn, ms);
  h.unref();
  return { cancel: () => clearTimeout(h) };
}

/** Default policy for warnings about one peer: a line, then at most one more per 30 s with the count. */
export const PEER_WARNING_POLICY: RateLimitPolicy = { intervalMs: 30_000, burst: 1, maxKeys: 64 };

/** The shell: writes admitted lines and reports folded counts when their window ends. */
export class RateLimitedLog {
  private readonly gate: LogRateGate<Payload>;
  private readonly setTimer: (fn: () => void, ms: number) => TimerHandle;
  private readonly now: () => number;
  private timer: { handle: TimerHandle; atMs: number } | undefined;

  constructor(
    private readonly log: Logger,
    policy: RateLimitPolicy,
    deps: RateLimitedLogDeps = {},
  ) {
    this.now = deps.now ?? (() => performance.now());
    this.setTimer = deps.setTimer ?? realTimer;
    this.gate = new LogRateGate(policy, this.now);
  }

  /** Log `msg` at `level` unless `key` is over its burst; returns whether a line was written. */
  write(level: Level, key: string, obj: Record<string, unknown>, msg: string): boolean {
    const a = this.gate.admit(key, { level, event: obj.event, msg });
    if (a.log) {
      this.log[level](a.suppressed > 0 ? { ...obj, suppressed: a.suppressed } : obj, msg);
      return true;
    }
    this.arm();
    return false;
  }

  warn(key: string, obj: Record<string, unknown>, msg: string): boolean {
    return this.write('warn', key, obj, msg);
  }

  /** Report every pending count now and stop the timer (a session ending, a shutdown); usable after. */
  flush(): void {
    this.timer?.handle.cancel();
    this.timer = undefined;
    this.report(this.gate.drainAll());
  }

  private arm(): void {
    const at = this.gate.nextDueAt();
    if (at === undefined || (this.timer !== undefined && this.timer.atMs <= at)) return;
    this.timer?.handle.cancel();
    this.timer = { atMs: at, handle: this.setTimer(() => this.onTimer(), Math.max(0, at - this.now())) };
  }

  private onTimer(): void {
    this.timer = undefined;
    this.report(this.gate.due());
    this.arm();
  }

  private report(reports: FoldedReport<Payload>[]): void {
    for (const r of reports) {
      const p = r.payload;
      const seconds = Math.round(r.windowMs / 1000);
      this.log[p?.level ?? 'warn'](
        { event: p?.event ?? r.key, key: r.key, suppressed: r.suppressed, windowMs: Math.round(r.windowMs) },
        `${p?.msg ?? r.key}: ${r.suppressed} more not logged in the last ${seconds} s`,
      );
    }
  }
}
