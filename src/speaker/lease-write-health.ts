/**
 * The shell half of the election's write health (the rules are pure, in l2-election-core.ts):
 * runs every Lease write through {@link LeaseWriteHealth.track}, remembers which are in flight and
 * since when, and says how long writes have worked without interruption. Time is the election's
 * injected monotonic clock.
 */
import type { Clock } from '../util/clock';
import { afterWrite, HEALTHY_WRITES, writesHealthyForMs, type WriteHealth } from './l2-election-core';
import type { WriteResult } from './lease-store';

/** Lease write health of one node. */
export class LeaseWriteHealth {
  private health: WriteHealth = HEALTHY_WRITES;
  /** Start times of the writes in flight, by write. */
  private readonly inFlight = new Map<number, number>();
  private seq = 0;

  /** `stallMs`: a write in flight longer than this counts as failing (the renew interval). */
  constructor(
    private readonly clock: Clock,
    private readonly stallMs: number,
  ) {}

  /** Run one write; its answer (a conflict is an answer too) or its failure updates the health. */
  async track<T extends WriteResult>(write: Promise<T>): Promise<T> {
    const id = ++this.seq;
    const startedMs = this.clock.now();
    this.inFlight.set(id, startedMs);
    let answered = false;
    try {
      const res = await write;
      answered = res.ok || res.conflict;
      return res;
    } finally {
      this.inFlight.delete(id);
      this.health = afterWrite(this.health, answered, startedMs, this.clock.now(), this.stallMs);
    }
  }

  /** How long writes have worked: 0 while they fail or hang. */
  healthyForMs(): number {
    const oldest = this.inFlight.size > 0 ? Math.min(...this.inFlight.values()) : undefined;
    return writesHealthyForMs(this.health, oldest, this.clock.now(), this.stallMs);
  }
}
