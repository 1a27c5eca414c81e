/**
 * A `Clock` (src/util/clock.ts) whose time moves only when a test moves it. Timers fire in due
 * order, each at its own due time, including timers that earlier ones schedule within the window.
 */
import type { Clock } from '../../src/util/clock';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** One macrotask turn: every promise continuation queued so far runs before it returns. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Manual time for unit tests. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, Pending>();

  constructor(startMs = 0) {
    this.t = startMs;
  }

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const seq = ++this.seq;
    this.timers.set(seq, { at: this.t + Math.max(0, ms), seq, fn });
    return seq;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /** Move time on by `ms`, firing due timers synchronously (for code without promises). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let next = this.next(end); next; next = this.next(end)) this.fire(next);
    this.t = end;
  }

  /**
   * Move time on by `ms`, letting promise continuations run after every timer, as they would
   * between two real timers: a fake store answering a write `n` ms later, and whatever the answer
   * triggers, happens at the fake time it is due.
   */
  async run(ms: number): Promise<void> {
    const end = this.t + ms;
    await turn();
    for (let next = this.next(end); next; next = this.next(end)) {
      this.fire(next);
      await turn();
    }
    this.t = end;
  }

  /**
   * Fire timers one by one until `p` settles, and return its value. Throws when it has not settled
   * within `limitMs` of fake time, or when no timer is left that could settle it.
   */
  async settle<T>(p: Promise<T>, limitMs = 60_000): Promise<T> {
    let done = false;
    const watched = p.finally(() => (done = true));
    watched.catch(() => undefined);
    const end = this.t + limitMs;
    await turn();
    while (!done) {
      const next = this.next(end);
      if (!next) throw new Error(`not settled within ${limitMs} ms of fake time (${this.timers.size} timers pending)`);
      this.fire(next);
      await turn();
    }
    return watched;
  }

  private next(end: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.timers.values()) if (p.at <= end && (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq))) best = p;
    return best;
  }

  private fire(p: Pending): void {
    this.timers.delete(p.seq);
    this.t = p.at;
    p.fn();
  }
}
