/**
 * A keyed, de-duplicating work queue with the semantics of client-go's `workqueue`:
 * - a key added while it is already waiting is not added twice (events coalesce, the worker
 *   reads the latest object from the cache: level-triggered);
 * - a key is processed by at most one worker at a time; a key added while it is being processed
 *   is queued again once the worker is done (no lost update, no concurrent reconcile);
 * - failed keys come back after a per-key exponential backoff (`addRateLimited`) until the
 *   handler succeeds (`forget`).
 * The clock is injected so the unit tests do not sleep.
 */
import { type BackoffPolicy, DEFAULT_BACKOFF, backoffDelayMs } from './backoff';
import { realClock, type Clock } from '../util/clock';

/** Observes queue activity, for the `workqueue_*` metrics. */
export interface QueueObserver {
  add?(): void;
  depth?(depth: number): void;
  retry?(): void;
  /** Seconds a key waited before a worker took it. */
  queued?(seconds: number): void;
  /** Seconds a worker spent on a key. */
  worked?(seconds: number): void;
}

/** What a handler returns for one key. */
export const WorkResult = {
  /** Done; forget its failure history. */
  Done: 'done',
  /** Failed; come back after the key's backoff. */
  Retry: 'retry',
} as const;
/** One {@link WorkResult}. */
export type WorkResult = (typeof WorkResult)[keyof typeof WorkResult];

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  readonly backoff?: BackoffPolicy;
  /** Real time by default. */
  readonly clock?: Clock;
  readonly observer?: QueueObserver;
  readonly random?: () => number;
}

/** The queue. */
export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly enqueuedAt = new Map<K, number>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, unknown>();
  private readonly waiters: ((k: K | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy;
  private readonly observer: QueueObserver;
  private readonly random: () => number;

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.observer = opts.observer ?? {};
    this.random = opts.random ?? Math.random;
  }

  /** Keys waiting (not counting in-flight ones). */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Keys being processed right now. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Add a key now; a no-op when it is already waiting. */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.observer.add?.();
    this.dirty.add(key);
    this.enqueuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.take(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.observer.depth?.(this.length);
  }

  /** Add a key after `ms`; an earlier pending delayed add of the same key is kept (the sooner wins). */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    if (this.delayed.has(key)) return;
    const h = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, h);
  }

  /** Add a key after its own backoff, which doubles with every call until {@link forget}. */
  addRateLimited(key: K): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.observer.retry?.();
    this.addAfter(key, backoffDelayMs(n, this.backoff, this.random));
  }

  /** Clear a key's failure history. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** How many times a key has failed since it was last forgotten. */
  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Take the next key, waiting if none; resolves undefined after shutdown. Pair with {@link done}. */
  get(): Promise<K | undefined> {
    if (this.length > 0) {
      const key = this.queue[this.head] as K;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.observer.depth?.(this.length);
      this.take(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Mark a key processed; it is queued again if it was added meanwhile. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      const waiter = this.waiters.shift();
      if (waiter) {
        this.take(key);
        waiter(key);
      } else {
        this.queue.push(key);
        this.observer.depth?.(this.length);
      }
    }
  }

  /** Stop handing out keys; waiting `get()` calls resolve undefined, delayed adds are cancelled. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const h of this.delayed.values()) this.clock.clearTimeout(h);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** True after {@link shutDown}. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Run `workers` loops that take keys and call `handle`; a thrown error counts as Retry.
   * Resolves when the queue is shut down and every worker has finished its current key.
   */
  async run(workers: number, handle: (key: K) => Promise<WorkResult>, onError?: (key: K, err: unknown) => void): Promise<void> {
    const loop = async (): Promise<void> => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        const started = this.clock.now();
        let result: WorkResult;
        try {
          result = await handle(key);
        } catch (err) {
          onError?.(key, err);
          result = WorkResult.Retry;
        }
        this.observer.worked?.((this.clock.now() - started) / 1000);
        if (result === WorkResult.Retry) this.addRateLimited(key);
        else this.forget(key);
        this.done(key);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, workers) }, loop));
  }

  private take(key: K): void {
    this.dirty.delete(key);
    this.processing.add(key);
    const at = this.enqueuedAt.get(key);
    this.enqueuedAt.delete(key);
    if (at !== undefined) this.observer.queued?.((this.clock.now() - at) / 1000);
  }
}
