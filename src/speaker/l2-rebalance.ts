/**
 * Opt-in rebalance of L2 VIPs toward their ranked owner (docs/speaker.md "Rebalance"), as pure
 * functions; the shell is l2-rebalancer.ts.
 *
 * Ownership is non-revertive: a VIP stays with whoever took it over, so a node coming back does
 * not cost its clients a second connection reset. After a rolling restart of the DaemonSet that
 * leaves the last node restarted with no VIPs at all. When enabled, a holder that is not a VIP's
 * ranked owner (the first live candidate, upstream's order) hands it back, make-before-break, but
 * only once that owner has been live for a settle period, only VIPs whose Lease has not changed
 * for a settle period (no ping-pong while views converge), only while this node's API has worked
 * for a settle period and no Lease write of its own waits (takeovers come first), and at most
 * `batch` VIPs per sliding `interval` from this node.
 */
import { parseIp } from '../net/ip';

/** Rebalance settings (speaker flags `--l2-rebalance*`). */
export interface RebalanceOptions {
  readonly enabled: boolean;
  /** VIPs this node hands back per `intervalMs` at most. */
  readonly batch: number;
  readonly intervalMs: number;
  /** How long an owner must have been live, and a VIP's Lease unchanged, before a move. */
  readonly settleMs: number;
}

/**
 * Off: each move resets the connections that kube-proxy's conntrack on the old node carried. On,
 * 5 VIPs per 10 s per node: a node with 300 VIPs to win back is whole again in 10 minutes, and no
 * burst of writes or of resets; a minute of settling covers a speaker's start-up and a readiness
 * gate of a rolling update.
 */
export const DEFAULT_REBALANCE: RebalanceOptions = { enabled: false, batch: 5, intervalMs: 10_000, settleMs: 60_000 };

/** A VIP this node holds and announces, with nothing under way for it. */
export interface HeldVip {
  readonly ip: string;
  /** Live candidates, best first (the election's ranking). */
  readonly ranked: readonly string[];
  /** When this node saw the Lease's current record (its acquisition, or the last write). */
  readonly heldSinceMs: number;
}

/** What the planner knows, all times on this node's monotonic clock. */
export interface RebalanceSituation {
  readonly me: string;
  readonly nowMs: number;
  readonly held: readonly HeldVip[];
  /** When each live speaker was first seen live without a lapse since. */
  readonly liveSinceMs: ReadonlyMap<string, number>;
  /** How long this node's Lease watch and writes have worked without interruption. */
  readonly apiHealthyForMs: number;
  /** VIP Lease writes of this node waiting in its queue (acquisitions, takeovers). */
  readonly writesWaiting: number;
  /** When this node's recent moves started (older than an interval no longer count). */
  readonly recentMovesMs: readonly number[];
}

/** One handover to plan. */
export interface RebalanceMove {
  readonly ip: string;
  readonly to: string;
}

/** Why no move is planned at all (for a debug line and the tests). */
export const RebalanceIdle = {
  Disabled: 'disabled',
  ApiUnsettled: 'apiUnsettled',
  WritesWaiting: 'writesWaiting',
  RateLimited: 'rateLimited',
} as const;
export type RebalanceIdle = (typeof RebalanceIdle)[keyof typeof RebalanceIdle];

/** The plan: moves (possibly none), or why none was looked for. */
export type RebalancePlan = { readonly kind: 'moves'; readonly moves: readonly RebalanceMove[] } | { readonly kind: 'idle'; readonly reason: RebalanceIdle };

/**
 * Track since when each speaker has been live: a node keeps its time while it stays live, gets
 * `nowMs` when it (re)appears, and is forgotten when it lapses, so a speaker that restarted (its
 * presence released or expired, or our probes proved it dead) settles again from scratch.
 */
export function trackLiveSince(prev: ReadonlyMap<string, number>, live: ReadonlySet<string>, nowMs: number): Map<string, number> {
  const next = new Map<string, number>();
  for (const node of live) next.set(node, prev.get(node) ?? nowMs);
  return next;
}

/** Move starts still inside the sliding window at `nowMs`. */
export function movesInWindow(recentMovesMs: readonly number[], nowMs: number, intervalMs: number): number[] {
  return recentMovesMs.filter((t) => nowMs - t < intervalMs);
}

/** The VIPs to hand back now, in IP order, at most what the rate leaves. */
export function planRebalance(s: RebalanceSituation, opts: RebalanceOptions): RebalancePlan {
  if (!opts.enabled) return { kind: 'idle', reason: RebalanceIdle.Disabled };
  // Right after an outage every presence looks fresh or expired at random: let it settle.
  if (s.apiHealthyForMs < opts.settleMs) return { kind: 'idle', reason: RebalanceIdle.ApiUnsettled };
  // Acquisitions and takeovers serve VIPs nobody answers for; a rebalance only improves balance.
  if (s.writesWaiting > 0) return { kind: 'idle', reason: RebalanceIdle.WritesWaiting };
  const allowance = opts.batch - movesInWindow(s.recentMovesMs, s.nowMs, opts.intervalMs).length;
  if (allowance <= 0) return { kind: 'idle', reason: RebalanceIdle.RateLimited };
  const settled = (sinceMs: number | undefined): boolean => sinceMs !== undefined && s.nowMs - sinceMs >= opts.settleMs;
  const moves: RebalanceMove[] = [];
  for (const vip of [...s.held].sort((a, b) => compareIps(a.ip, b.ip))) {
    if (moves.length >= allowance) break;
    const owner = vip.ranked[0];
    // Only while we are still a candidate: otherwise the election releases it by itself.
    if (owner === undefined || owner === s.me || !vip.ranked.includes(s.me)) continue;
    if (!settled(vip.heldSinceMs) || !settled(s.liveSinceMs.get(owner))) continue;
    moves.push({ ip: vip.ip, to: owner });
  }
  return { kind: 'moves', moves };
}

/** A stable order of IPs (IPv4 first, then numeric), so every run picks the same VIPs. */
function compareIps(a: string, b: string): number {
  const key = (ip: string): bigint => {
    const p = parseIp(ip);
    return p === undefined ? -1n : (BigInt(p.family) << 128n) | p.value;
  };
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : a < b ? -1 : a > b ? 1 : 0;
}
