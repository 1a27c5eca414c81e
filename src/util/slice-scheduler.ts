/**
 * Cooperative time slicing shared by everything one owner runs (the BGP sessions of a peer
 * manager). Work that can be large (a flood of received messages, the full table to encode) is
 * queued as tasks; each event-loop turn runs them round-robin, each for at most `sliceMs`, all
 * together for at most `turnBudgetMs`, then yields with setImmediate so timers (keepalives, hold
 * timers) and sockets (ARP replies, healthy peers) get the loop between turns. Per-task slices
 * alone are not enough: five flooded sessions of 5 ms each still block the loop for 50 ms.
 * Clock and deferral are injected, so tests drive it without waiting.
 */

/** A unit of resumable work: run until `yieldNow()` says stop; return true while work remains. */
export type SliceTask = (yieldNow: () => boolean) => boolean;

/** How long work may hold the event loop. */
export interface SliceLimits {
  /** One task's share of a turn. */
  readonly sliceMs: number;
  /** All tasks together, per event-loop turn. */
  readonly turnBudgetMs: number;
}

/**
 * 2 ms per task and 8 ms per turn: a healthy session's KEEPALIVE or an ARP reply waits at most
 * about one turn, and a flood still gets most of the CPU when nothing else needs it.
 */
export const DEFAULT_SLICE_LIMITS: SliceLimits = { sliceMs: 2, turnBudgetMs: 8 };

/** What the scheduler needs from its environment. */
export interface SliceSchedulerDeps {
  now?: () => number;
  /** Run `fn` on a later event-loop turn; default setImmediate. */
  defer?: (fn: () => void) => void;
  /** A task threw (a bug): it is dropped, the others go on. */
  onError?: (err: unknown) => void;
}

/** Runs queued tasks in bounded turns. */
export class SliceScheduler {
  /** Queued tasks in round-robin order; a Set so a task is queued at most once. */
  private readonly queue = new Set<SliceTask>();
  private turnPending = false;
  private readonly now: () => number;
  private readonly defer: (fn: () => void) => void;
  private readonly onError: (err: unknown) => void;

  constructor(
    readonly limits: SliceLimits = DEFAULT_SLICE_LIMITS,
    deps: SliceSchedulerDeps = {},
  ) {
    this.now = deps.now ?? (() => performance.now());
    this.defer = deps.defer ?? ((fn) => void setImmediate(fn));
    this.onError = deps.onError ?? (() => undefined);
  }

  /** Queue `task` for the next turn (no-op if it is queued already). */
  schedule(task: SliceTask): void {
    this.queue.add(task);
    this.requestTurn();
  }

  /** Drop `task` if queued. */
  cancel(task: SliceTask): void {
    this.queue.delete(task);
  }

  /** Tasks waiting for a turn. */
  get pending(): number {
    return this.queue.size;
  }

  private requestTurn(): void {
    if (this.turnPending || this.queue.size === 0) return;
    this.turnPending = true;
    this.defer(() => this.turn());
  }

  private turn(): void {
    this.turnPending = false;
    const turnEnd = this.now() + this.limits.turnBudgetMs;
    while (this.queue.size > 0 && this.now() < turnEnd) {
      const task = this.queue.values().next().value!;
      this.queue.delete(task);
      const sliceEnd = Math.min(this.now() + this.limits.sliceMs, turnEnd);
      let more = false;
      try {
        more = task(() => this.now() >= sliceEnd);
      } catch (err) {
        this.onError(err);
      }
      // To the back of the queue: the next task gets its slice first.
      if (more) this.queue.add(task);
    }
    this.requestTurn();
  }
}
