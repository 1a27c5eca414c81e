/**
 * Per-VIP ownership decisions for L2 (docs/architecture.md §7), as a pure function of one VIP's
 * situation. The Lease is the single source of truth for who owns a VIP; this function says what
 * this node should do about it right now. The shell executes the action (Lease writes by optimistic
 * concurrency, announce/withdraw, probes) and calls again on every change or tick.
 *
 * Rules, and why:
 * - Only the best live candidate contends for a free Lease, so writes do not race needlessly.
 * - A Lease held by a live node is taken only by its first successor, and only with evidence
 *   from the data plane (probe misses): the API server's view of liveness is too slow (10-20 s
 *   at client-go defaults is the failover peers are criticised for).
 * - A Lease whose holder vanished from the cluster view (its presence Lease expired too) is taken
 *   by the best candidate, but only after this node's watch and its own Lease writes have worked
 *   for a full lease duration: right after an outage (a broken watch, or writes failing behind an
 *   open one, as with etcd down) every Lease looks expired, and the holders deserve time to renew
 *   before anyone takes over (no flap after an outage).
 * - While the API server is unreachable nobody can write, so nothing is taken over and holders
 *   keep announcing.
 */

/** What this node knows of the Lease of one VIP. */
export interface LeaseView {
  /** '' when released. */
  readonly holder: string;
  /**
   * When this node saw the last renew (or acquire), on its monotonic clock (src/util/clock.ts);
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
  /** How often the holder renews. */
  readonly renewIntervalMs: number;
}

/** The action for one VIP. */
export type VipAction =
  /** Hold it: announce (and renew when due). */
  | { readonly kind: 'hold'; readonly renew: boolean }
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
    return { kind: 'hold', renew: s.nowMs - lease.renewTimeMs >= s.renewIntervalMs };
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
    // An ineligible holder that is alive releases by itself once it notices. One whose Lease also
    // lapsed is gone (no presence, no renew): the best candidate takes over, but only after having
    // watched the API long enough to be sure the holder really stopped renewing.
    if (leaseExpired(lease, s.nowMs) && best === me && s.apiHealthyForMs >= lease.durationMs) {
      return { kind: 'acquire', reason: s.liveSpeakers.has(holder) ? AcquireReason.HolderIneligible : AcquireReason.HolderGone };
    }
    return { kind: 'idle' };
  }
  if (successor === me) return { kind: 'watch-holder', holder };
  return { kind: 'idle' };
}
