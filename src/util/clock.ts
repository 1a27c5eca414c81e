/**
 * Time as an input. Every shell that waits or measures (the L2 announcer's GARP schedule and
 * probes, the L2 election, the work queue) takes a `Clock`, so unit tests advance a fake one
 * instead of sleeping, and production passes `realClock`.
 *
 * `now()` is monotonic (`performance.now()`): it is for durations and for comparing this process's
 * own observations, and a wall-clock step (NTP, a VM resume) can neither expire a live holder early
 * nor keep a dead one alive. Timestamps written into API objects (a Lease's renewTime) come from
 * `Date` where they are written, never from here.
 */

/** Monotonic time and one-shot timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale with an arbitrary origin; compare only with itself. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real time; its timers keep the process alive, as the global ones do. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Real time whose timers never keep the process alive (periodic background work). */
export const backgroundClock: Clock = {
  now: realClock.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: realClock.clearTimeout,
};

/** A promise that settles `ms` later on `clock`. */
export function after(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * Call `fn` every `ms` on `clock` until the returned function is called. Each period starts when
 * the previous call returns, so a slow call delays the next one instead of piling calls up.
 */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let handle: unknown;
  let stopped = false;
  const arm = (): void => {
    handle = clock.setTimeout(() => {
      fn();
      if (!stopped) arm();
    }, ms);
  };
  arm();
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}
