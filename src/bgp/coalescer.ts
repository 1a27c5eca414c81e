/**
 * Request coalescing for work that is expensive and idempotent, like answering a ROUTE-REFRESH
 * (re-plan and re-encode a whole family): per key at most one run in flight and one more wanted.
 * Any number of requests while one is wanted fold into it, so a peer sending 20,000 requests
 * gets at most two resends, not 20,000. Pure: the session decides when to `take` (when its
 * output can take more) and reports `finish`.
 */

/** What a request did: wanted now, or folded into one already wanted. */
export type CoalesceResult = 'wanted' | 'folded';

/** Per-key coalescing state. */
export class Coalescer<K> {
  private readonly wanted: K[] = [];
  private readonly running = new Set<K>();
  private foldedCount = 0;

  /** Ask for a run of `key`; a request while one is wanted (not yet taken) folds into it. */
  request(key: K): CoalesceResult {
    if (this.wanted.includes(key)) {
      this.foldedCount++;
      return 'folded';
    }
    this.wanted.push(key);
    return 'wanted';
  }

  /**
   * The oldest wanted key with no run in flight, now in flight; undefined when there is none.
   * A key asked for again while its run is in flight waits for that run to finish, so one
   * started after the request covers it.
   */
  take(): K | undefined {
    const i = this.wanted.findIndex((k) => !this.running.has(k));
    if (i < 0) return undefined;
    const [key] = this.wanted.splice(i, 1);
    this.running.add(key!);
    return key;
  }

  /** The run of `key` is done. */
  finish(key: K): void {
    this.running.delete(key);
  }

  /** Forget everything (the connection is gone). */
  clear(): void {
    this.wanted.length = 0;
    this.running.clear();
  }

  /** Whether a run of `key` is in flight. */
  inFlight(key: K): boolean {
    return this.running.has(key);
  }

  /** Requests folded into one already wanted, since creation. */
  get folded(): number {
    return this.foldedCount;
  }
}
