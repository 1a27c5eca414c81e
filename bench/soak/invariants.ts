/**
 * Pure invariant bookkeeping for the soak (docs/soak.md): no I/O, no clocks. The shell feeds
 * observations with their timestamps; these functions say what is a violation and measure the
 * transition windows that are allowed (a takeover, a BGP session coming back) but must be bounded.
 */

/** What a violation is about. */
export const ViolationKind = {
  SharedIp: 'sharedIp',
  L2Window: 'l2WindowTooLong',
  BgpWindow: 'bgpWindowTooLong',
  UncausedChange: 'uncausedAssignmentChange',
  Crash: 'processCrash',
  ExitTimeout: 'noExitAfterSigterm',
  LogError: 'uncaughtErrorInLog',
  MemoryGrowth: 'memoryGrowth',
} as const;
/** One of {@link ViolationKind}. */
export type ViolationKind = (typeof ViolationKind)[keyof typeof ViolationKind];

/** One broken invariant, with the wall-clock time it was seen. */
export interface Violation {
  readonly atMs: number;
  readonly kind: ViolationKind;
  readonly subject: string;
  readonly detail: string;
}

/** A closed (or still open at the end) transition window. */
export interface Window {
  readonly subject: string;
  readonly startMs: number;
  readonly endMs: number;
  /** What was wrong when the window opened (e.g. `0 MACs`, `missing node2`). */
  readonly reason: string;
  readonly open: boolean;
}

/** State of a {@link WindowTracker}: open windows by subject, closed ones, and those already flagged. */
export interface WindowState {
  readonly open: ReadonlyMap<string, { readonly startMs: number; readonly reason: string; readonly flagged: boolean }>;
  readonly closed: readonly Window[];
}

/** An empty tracker state. */
export function emptyWindows(): WindowState {
  return { open: new Map(), closed: [] };
}

/** Result of one observation: the next state and a violation when a window passed its bound. */
export interface WindowStep {
  readonly state: WindowState;
  readonly exceeded?: { readonly subject: string; readonly startMs: number; readonly reason: string };
}

/**
 * Feed one observation of `subject` at `nowMs`: `bad` is undefined when the invariant holds,
 * otherwise the reason. A window opens at the first bad observation and closes at the next good
 * one; a window longer than `boundMs` is reported once, when it first exceeds the bound.
 */
export function observeWindow(state: WindowState, subject: string, nowMs: number, bad: string | undefined, boundMs: number): WindowStep {
  const cur = state.open.get(subject);
  if (bad === undefined) {
    if (!cur) return { state };
    const open = new Map(state.open);
    open.delete(subject);
    return { state: { open, closed: [...state.closed, { subject, startMs: cur.startMs, endMs: nowMs, reason: cur.reason, open: false }] } };
  }
  if (!cur) {
    const open = new Map(state.open);
    open.set(subject, { startMs: nowMs, reason: bad, flagged: false });
    return { state: { ...state, open } };
  }
  if (!cur.flagged && nowMs - cur.startMs > boundMs) {
    const open = new Map(state.open);
    open.set(subject, { ...cur, flagged: true });
    return { state: { ...state, open }, exceeded: { subject, startMs: cur.startMs, reason: cur.reason } };
  }
  return { state };
}

/**
 * Forget a subject without closing its window (the Service or IP went away, so the question no
 * longer applies); the partial window is kept as closed at `nowMs`, marked by its reason.
 */
export function dropWindow(state: WindowState, subject: string, nowMs: number): WindowState {
  const cur = state.open.get(subject);
  if (!cur) return state;
  const open = new Map(state.open);
  open.delete(subject);
  return { open, closed: [...state.closed, { subject, startMs: cur.startMs, endMs: nowMs, reason: `${cur.reason} (subject gone)`, open: false }] };
}

/** All windows, the still-open ones ending at `nowMs`. */
export function allWindows(state: WindowState, nowMs: number): Window[] {
  return [...state.closed, ...[...state.open].map(([subject, w]) => ({ subject, startMs: w.startMs, endMs: nowMs, reason: w.reason, open: true }))];
}

/** Count and duration percentiles of windows, in ms. */
export interface WindowStats {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

/** Nearest-rank percentile of a sorted list (0 for an empty one). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Summarise window durations. */
export function windowStats(windows: readonly Window[]): WindowStats {
  const d = windows.map((w) => w.endMs - w.startMs).sort((a, b) => a - b);
  return { count: d.length, p50Ms: percentile(d, 50), p95Ms: percentile(d, 95), maxMs: d[d.length - 1] ?? 0 };
}

/** The parts of a Service that decide whether it may share an IP (upstream allocator rules, docs/upstream-behaviour.md §3.6). */
export interface ShareView {
  readonly key: string;
  readonly sharingKey: string;
  /** `TCP/80` etc. */
  readonly ports: readonly string[];
  readonly externalTrafficPolicy: string;
  readonly ips: readonly string[];
}

/**
 * Pairs of Services holding the same IP that may not share it: sharing needs the same non-empty
 * allow-shared-ip key, no port/protocol in common and the same externalTrafficPolicy (upstream
 * also lets Local Services share only with the same selector; the soak never makes Local ones).
 */
export function sharingConflicts(services: readonly ShareView[]): Array<{ ip: string; a: string; b: string; why: string }> {
  const byIp = new Map<string, ShareView[]>();
  for (const s of services) for (const ip of s.ips) byIp.set(ip, [...(byIp.get(ip) ?? []), s]);
  const out: Array<{ ip: string; a: string; b: string; why: string }> = [];
  for (const [ip, list] of byIp) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        const why =
          a.sharingKey === '' || a.sharingKey !== b.sharingKey
            ? `sharing keys ${JSON.stringify(a.sharingKey)} vs ${JSON.stringify(b.sharingKey)}`
            : a.ports.some((p) => b.ports.includes(p))
              ? `common port ${a.ports.find((p) => b.ports.includes(p))}`
              : a.externalTrafficPolicy !== b.externalTrafficPolicy
                ? `externalTrafficPolicy ${a.externalTrafficPolicy} vs ${b.externalTrafficPolicy}`
                : undefined;
        if (why) out.push({ ip, a: a.key, b: b.key, why });
      }
    }
  }
  return out;
}

/** A change the workload made on purpose: to one Service, or to a pool (affects its Services). */
export interface Cause {
  readonly atMs: number;
  readonly service?: string;
  readonly pool?: string;
  readonly what: string;
}

/** Last seen assignment of a Service. */
export interface Assignment {
  readonly ips: readonly string[];
  readonly pool: string;
  /** When these IPs were first seen on the Service. */
  readonly sinceMs: number;
}

/**
 * Was an assignment change of `service` caused? A cause counts when it touched the Service or
 * either pool involved, at most `slackMs` before the current IPs were first seen and up to now:
 * an edit made while the controller is down takes effect only when a new leader reconciles.
 */
export function changeCause(causes: readonly Cause[], service: string, prev: Assignment, nowPool: string, nowMs: number, slackMs: number): Cause | undefined {
  return causes.find(
    (c) => c.atMs >= prev.sinceMs - slackMs && c.atMs <= nowMs && (c.service === service || (c.pool !== undefined && (c.pool === prev.pool || c.pool === nowPool))),
  );
}

/** A period during which the control plane could not act (apiserver down, controller leader gone). */
export interface Outage {
  readonly startMs: number;
  readonly endMs?: number;
}

/**
 * Extra allowance for a window that started at `startMs`: each outage that overlaps it adds its
 * length plus `recoveryMs` (informers relist, a new leader reconciles), because a stale status
 * can only be corrected once the control plane is back.
 */
export function outageAllowanceMs(outages: readonly Outage[], startMs: number, nowMs: number, recoveryMs: number): number {
  let extra = 0;
  for (const o of outages) {
    const end = o.endMs ?? nowMs;
    if (end >= startMs - recoveryMs && o.startMs <= nowMs) extra += end - o.startMs + recoveryMs;
  }
  return extra;
}

/** Same IPs regardless of order. */
export function sameIps(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');
}

/** One RSS sample of a process role (e.g. `speaker-node1`, `controller`). */
export interface RssSample {
  readonly atMs: number;
  readonly role: string;
  readonly rssMB: number;
}

/** RSS of one role: mean of the first and of the last third of the run. */
export interface RssGrowth {
  readonly role: string;
  readonly firstThirdMB: number;
  readonly lastThirdMB: number;
  readonly maxMB: number;
  readonly samples: number;
}

/** Compare the first and last third (by time) of each role's samples. */
export function rssGrowth(samples: readonly RssSample[], startMs: number, endMs: number): RssGrowth[] {
  const third = (endMs - startMs) / 3;
  const roles = [...new Set(samples.map((s) => s.role))].sort();
  const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  return roles.map((role) => {
    const mine = samples.filter((s) => s.role === role);
    return {
      role,
      firstThirdMB: r1(mean(mine.filter((s) => s.atMs < startMs + third).map((s) => s.rssMB))),
      lastThirdMB: r1(mean(mine.filter((s) => s.atMs >= endMs - third).map((s) => s.rssMB))),
      maxMB: r1(Math.max(0, ...mine.map((s) => s.rssMB))),
      samples: mine.length,
    };
  });
}

/**
 * Unbounded growth, as far as a run can tell: the last third's mean is over `ratio` times the
 * first third's and over `minDeltaMB` larger (short runs see V8 heap warm-up, hence both).
 */
export function growthSuspect(g: RssGrowth, ratio = 1.5, minDeltaMB = 40): boolean {
  return g.firstThirdMB > 0 && g.lastThirdMB > g.firstThirdMB * ratio && g.lastThirdMB - g.firstThirdMB > minDeltaMB;
}

/** Lines of a process log that show a crash or an error that escaped every handler. */
export function crashLines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /"event":"(uncaughtException|unhandledRejection)"|^\s*(Uncaught|FATAL ERROR|node:internal)|^[A-Za-z]*Error: /.test(l));
}

/** A small deterministic PRNG (mulberry32), so a soak run is replayable from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
