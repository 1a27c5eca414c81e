/**
 * A session's output, bounded. Route output (the full table, diffs, refresh answers) is pulled
 * from the session only when the socket can take more, encoded and written in slices that the
 * shared SliceScheduler bounds (so they yield to the event loop), and stops while
 * `socket.write()` says the buffer is full until 'drain'. So the process holds at most one planned batch and about one write of
 * encoded octets per peer, however much the peer asks for, and keepalives and other sessions keep
 * their timing. A peer that takes nothing for the stall bound (the hold time: a peer that has not
 * read our KEEPALIVEs for that long has, by its own rules, expired the session), or lets the
 * buffer pass a hard cap, is reported once through `stalled` (the session sends Cease 6/8).
 * Control messages (OPEN, KEEPALIVE, NOTIFICATION) are written at once, never queued behind routes.
 */
import type { Message, UpdateMessage } from './codec';
import type { SliceScheduler, SliceTask } from '../util/slice-scheduler';

/** What the output needs of a socket (a net.Socket, or a fake in tests). */
export interface OutputSocket {
  write(buf: Buffer): boolean;
  readonly writableLength: number;
  once(event: 'drain', fn: () => void): unknown;
  removeListener(event: 'drain', fn: () => void): unknown;
}

/** UPDATEs to send in order, and what to do once all are handed to the socket. */
export interface OutputBatch {
  updates: readonly UpdateMessage[];
  done?: () => void;
}

/** The bounds (time is bounded by the scheduler). */
export interface OutputLimits {
  /** Octets gathered into one socket.write. */
  writeBytes: number;
  /** Octets buffered in the socket above which the peer is given up. */
  capBytes: number;
}

/**
 * 64 KiB writes are 16 full UPDATEs; the cap is far above what the pump itself leaves buffered
 * (one write plus control messages), so it only trips on a bug or a control-message flood.
 */
export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { writeBytes: 64 * 1024, capBytes: 1024 * 1024 };

/** A cancellable scheduled call. */
export interface Scheduled {
  cancel(): void;
}

/** The session side of the output. */
export interface OutputDeps {
  encode(msg: Message): Buffer;
  /** The next batch of route output, planned now; undefined when there is nothing to send. */
  next(): OutputBatch | undefined;
  /** Called for each message handed to the socket (counters, logs). */
  sent(msg: Message): void;
  /** The peer is not taking our output; called at most once. */
  stalled(reason: string): void;
  /** Producing or encoding failed (a bug): the batch is dropped. */
  failed(err: unknown): void;
  /** How long the socket may stay full before `stalled`. */
  stallMs(): number;
  /** Runs the encoding in bounded slices, shared with the other sessions. */
  scheduler: Pick<SliceScheduler, 'schedule' | 'cancel'>;
  setTimer(fn: () => void, ms: number): Scheduled;
}

/** The output of one connection. */
export class SessionOutput {
  private current: OutputBatch | undefined;
  private at = 0;
  private readonly task: SliceTask = (yieldNow) => this.turn(yieldNow);
  private waitingDrain = false;
  private stallTimer: Scheduled | undefined;
  private gaveUp = false;
  private closed = false;
  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    this.stallTimer?.cancel();
    this.stallTimer = undefined;
    this.kick();
  };

  constructor(
    private readonly socket: OutputSocket,
    private readonly deps: OutputDeps,
    private readonly limits: OutputLimits = DEFAULT_OUTPUT_LIMITS,
  ) {}

  /** Write control messages now, whatever is buffered. */
  sendNow(msgs: readonly Message[]): void {
    if (this.closed || msgs.length === 0) return;
    const bufs = msgs.map((m) => this.deps.encode(m));
    for (const m of msgs) this.deps.sent(m);
    this.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
  }

  /** There may be new route output: run a slice soon unless the socket is full. */
  kick(): void {
    if (this.closed || this.waitingDrain) return;
    this.deps.scheduler.schedule(this.task);
  }

  /** Stop producing (the connection is going away); what the socket holds is still flushed. */
  close(): void {
    this.closed = true;
    this.current = undefined;
    this.deps.scheduler.cancel(this.task);
    this.stallTimer?.cancel();
    this.stallTimer = undefined;
    this.socket.removeListener('drain', this.onDrain);
  }

  /** True while the socket is full and route output waits for 'drain'. */
  get blocked(): boolean {
    return this.waitingDrain;
  }

  /** True while a batch is partly sent. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** One slice: plan, encode and write until the slice ends or the socket is full; true if more remains. */
  private turn(yieldNow: () => boolean): boolean {
    if (this.closed || this.waitingDrain) return false;
    let parts: Buffer[] = [];
    let bytes = 0;
    const flush = (): boolean => {
      if (parts.length === 0 || this.closed) return !this.closed;
      const ok = this.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      parts = [];
      bytes = 0;
      return ok && !this.closed;
    };
    try {
      for (;;) {
        if (this.current === undefined) {
          this.current = this.deps.next();
          this.at = 0;
          if (this.current === undefined) break;
        }
        if (this.at >= this.current.updates.length) {
          const done = this.current.done;
          this.current = undefined;
          done?.();
          continue;
        }
        const msg = this.current.updates[this.at++]!;
        const buf = this.deps.encode(msg);
        parts.push(buf);
        bytes += buf.length;
        this.deps.sent(msg);
        if (bytes >= this.limits.writeBytes && !flush()) return false;
        // The rest goes out in a later slice, after timers and other sockets had theirs.
        if (yieldNow()) return flush();
      }
    } catch (err) {
      this.current = undefined;
      this.deps.failed(err);
    }
    flush();
    return false;
  }

  private write(buf: Buffer): boolean {
    const ok = this.socket.write(buf);
    if (this.socket.writableLength > this.limits.capBytes) {
      this.giveUp(`${this.socket.writableLength} octets unsent, over the ${this.limits.capBytes}-octet cap`);
      return false;
    }
    if (!ok && !this.waitingDrain && !this.closed) {
      this.waitingDrain = true;
      this.socket.once('drain', this.onDrain);
      const ms = this.deps.stallMs();
      this.stallTimer = this.deps.setTimer(() => {
        this.stallTimer = undefined;
        this.giveUp(`peer took none of our output for ${Math.round(ms / 1000)} s (${this.socket.writableLength} octets unsent)`);
      }, ms);
    }
    return ok;
  }

  private giveUp(reason: string): void {
    if (this.gaveUp) return;
    this.gaveUp = true;
    this.deps.stalled(reason);
  }
}
