/**
 * A session's output, bounded. Route output (the full table, diffs, refresh answers) is pulled
 * from the session only when the socket can take more, encoded and written in slices of a few
 * milliseconds that yield to the event loop, and stops while `socket.write()` says the buffer is
 * full until 'drain'. So the process holds at most one planned batch and about one write of
 * encoded octets per peer, however much the peer asks for, and keepalives and other sessions keep
 * their timing. A peer that takes nothing for the stall bound (the hold time: a peer that has not
 * read our KEEPALIVEs for that long has, by its own rules, expired the session), or lets the
 * buffer pass a hard cap, is reported once through `stalled` (the session sends Cease 6/8).
 * Control messages (OPEN, KEEPALIVE, NOTIFICATION) are written at once, never queued behind routes.
 */
import type { Message, UpdateMessage } from './codec';

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

/** The bounds. */
export interface OutputLimits {
  /** Encode and write for at most this long per event-loop turn. */
  sliceMs: number;
  /** Octets gathered into one socket.write. */
  writeBytes: number;
  /** Octets buffered in the socket above which the peer is given up. */
  capBytes: number;
}

/**
 * 5 ms slices keep a 1 s keepalive or an ARP reply within a few ms of its time; 64 KiB writes
 * are 16 full UPDATEs; the cap is far above what the pump itself leaves buffered (one write
 * plus control messages), so it only trips on a bug or a control-message flood.
 */
export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { sliceMs: 5, writeBytes: 64 * 1024, capBytes: 1024 * 1024 };

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
  now(): number;
  /** Run `fn` on a later event-loop turn (setImmediate). */
  defer(fn: () => void): Scheduled;
  setTimer(fn: () => void, ms: number): Scheduled;
}

/** The output of one connection. */
export class SessionOutput {
  private current: OutputBatch | undefined;
  private at = 0;
  private turnScheduled: Scheduled | undefined;
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

  /** There may be new route output: run a turn soon unless one is due or the socket is full. */
  kick(): void {
    if (this.closed || this.turnScheduled || this.waitingDrain) return;
    this.turnScheduled = this.deps.defer(() => this.turn());
  }

  /** Stop producing (the connection is going away); what the socket holds is still flushed. */
  close(): void {
    this.closed = true;
    this.current = undefined;
    this.turnScheduled?.cancel();
    this.turnScheduled = undefined;
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

  private turn(): void {
    this.turnScheduled = undefined;
    if (this.closed || this.waitingDrain) return;
    const start = this.deps.now();
    let parts: Buffer[] = [];
    let bytes = 0;
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
        if (bytes >= this.limits.writeBytes) {
          const ok = this.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
          parts = [];
          bytes = 0;
          if (!ok || this.closed) return;
        }
        if (this.deps.now() - start >= this.limits.sliceMs) {
          // Yield: the rest goes out on a later turn, after timers and other sockets had theirs.
          if (parts.length > 0 && !this.write(Buffer.concat(parts))) return;
          this.kick();
          return;
        }
      }
    } catch (err) {
      this.current = undefined;
      this.deps.failed(err);
    }
    if (parts.length > 0 && !this.closed) this.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
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
