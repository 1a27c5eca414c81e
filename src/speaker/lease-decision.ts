/**
 * Per-VIP ownership decisions for L2 (docs/architecture.md §7), as a pure function of one VIP's
 * situation. The Lease is the single source of truth for who owns a VIP; this function says what
 * this node should do about it right now. The shell executes the action (Lease writes by optimistic
 * concurrency, announce/withdraw, probes) and calls again on every change or tick.
 *
 * A VIP Lease is written only when its ownership changes (acquire, handover, takeover, release):
 * a holder never renews it. Its liveness is its presence Lease, renewed once per renew interval
 * for all of its VIPs at once (docs/speaker.md "API cost").
 *
 * Rules, and why:
 * - Only the best live candidate contends for a free Lease, so writes do not race needlessly.
 * - A Lease held by a live node is taken only by its first successor, and only with evidence
 *   from the data plane (probe misses): the API server's view of liveness is too slow (10-20 s
 *   at client-go defaults is the failover peers are criticised for).
 * - A Lease whose holder vanished from the cluster view (its presence Lease expired or was
 *   released) is taken by the best candidate, but only after this node's watch and its own Lease
 *   writes have worked for a full lease duration: right after an outage (a broken watch, or writes
 *   failing behind an open one, as with etcd down) every presence looks expired, and the holders
 *   deserve time to renew before anyone takes over (no flap after an outage).
 * - While the API server is unreachable nobody can write, so nothing is taken over and holders
 *   keep announcing.
 */

/** What this node knows of a Lease: a VIP's, or a speaker's presence. */
export interface LeaseView {
  /** '' when released. */
  readonly holder: string;
  /**
   * When this node saw the record change (a renewal, an acquisition), on its monotonic clock (src/util/clock.ts);
   * never the record's own renewTime, which another node's wall clock wrote.
   */
  readonly renewTimeMs: number;
  readonly durationMs: number;
}

/** The situation of one VIP as seen by this node. */
export interface VipSituation {
  readonly me: string;
  readonly nowMs: number;
  /** Eligible candidates with a live speaker, best first (decideL2). Empty = nobody may announce. */
  readonly ranked: readonly string[];
  /** Undefined when no Lease object exists. */
  readonly lease: LeaseView | undefined;
  /** Nodes whose speaker presence Lease is fresh. */
  readonly liveSpeakers: ReadonlySet<string>;
  /** Consecutive failed probes of the current holder by this node. */
  readonly holderProbeMisses: number;
  /** Misses that prove the holder's data plane is gone. */
  readonly probeMissesToTakeOver: number;
  /** How long this node's Lease watch and Lease writes have both worked without interruption (ms). */
  readonly apiHealthyForMs: number;
}

/** The action for one VIP. */
export type VipAction =
  /** Hold it: announce (the presence Lease keeps the hold alive; the VIP Lease is not renewed). */
  | { readonly kind: 'hold' }
  /** Create or take the Lease by CAS; announce only once the write succeeded. */
  | { readonly kind: 'acquire'; readonly reason: AcquireReason }
  /** Give the Lease up (we hold it but may no longer announce). */
  | { readonly kind: 'release'; readonly reason: ReleaseReason }
  /** Someone else holds it; probe the holder because we are its first successor. */
  | { readonly kind: 'watch-holder'; readonly holder: string }
  /** Nothing to do; do not announce. */
  | { readonly kind: 'idle' };

/** Why this node writes a Lease. */
export const AcquireReason = {
  Free: 'free',
  Released: 'released',
  HolderDeadOnWire: 'holderDeadOnWire',
  HolderGone: 'holderGone',
  HolderIneligible: 'holderIneligible',
} as const;
export type AcquireReason = (typeof AcquireReason)[keyof typeof AcquireReason];

/** Why this node gives a Lease up. */
export const ReleaseReason = {
  NotEligible: 'notEligible',
} as const;
export type ReleaseReason = (typeof ReleaseReason)[keyof typeof ReleaseReason];

/** True when the Lease has not been renewed within its duration. */
export function leaseExpired(lease: LeaseView, nowMs: number): boolean {
  return lease.renewTimeMs + lease.durationMs <= nowMs;
}

/** Decide what this node does about one VIP. */
export function decideVip(s: VipSituation): VipAction {
  const { me, lease, ranked } = s;
  const eligible = ranked.includes(me);
  const best = ranked[0];

  if (lease && lease.holder === me) {
    if (!eligible) return { kind: 'release', reason: ReleaseReason.NotEligible };
    return { kind: 'hold' };
  }
  if (!eligible) return { kind: 'idle' };

  if (!lease || lease.holder === '') {
    if (best !== me) return { kind: 'idle' };
    return { kind: 'acquire', reason: lease ? AcquireReason.Released : AcquireReason.Free };
  }

  const holder = lease.holder;
  const holderEligible = ranked.includes(holder);
  const successor = ranked.find((n) => n !== holder);
  if (successor === me && s.holderProbeMisses >= s.probeMissesToTakeOver) {
    return { kind: 'acquire', reason: AcquireReason.HolderDeadOnWire };
  }
  if (!holderEligible) {
    if (best !== me || s.apiHealthyForMs < lease.durationMs) return { kind: 'idle' };
    // Gone: its presence lapsed (or our probes proved it dead), and we have watched the API long
    // enough to be sure it really stopped renewing: its presence stands for all its VIP Leases.
    if (!s.liveSpeakers.has(holder)) return { kind: 'acquire', reason: AcquireReason.HolderGone };
    // Alive but ineligible: it releases by itself once it notices. Only a record that has not
    // changed for a lease duration (a release that never landed) is taken.
    if (leaseExpired(lease, s.nowMs)) return { kind: 'acquire', reason: AcquireReason.HolderIneligible };
    return { kind: 'idle' };
  }
  if (successor === me) return { kind: 'watch-holder', holder };
  return { kind: 'idle' };
}
