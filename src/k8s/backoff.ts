/**
 * Exponential backoff as pure arithmetic, shared by informer restarts, work-queue retries and
 * lease retries. client-go's `ItemExponentialFailureRateLimiter` doubles from a base up to a
 * cap; we do the same and add optional jitter so that many informers (or two controller
 * replicas) that failed together do not retry in lockstep.
 */

/** Parameters of an exponential backoff. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  /** 0 = none; 0.2 = up to 20 % added at random. */
  readonly jitter: number;
}

/** client-go's default per-item limiter starts at 5 ms; we start at 100 ms because every retry costs an API call. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 60_000, jitter: 0.2 };

/**
 * Delay before retry number `attempt` (0 = first retry): base × 2^attempt, capped, plus jitter.
 * `random` is injected so tests are deterministic.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(attempt, 0), 40);
  const raw = Math.min(policy.baseMs * 2 ** exp, policy.maxMs);
  return Math.round(raw * (1 + policy.jitter * random()));
}
