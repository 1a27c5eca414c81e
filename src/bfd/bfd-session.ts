/**
 * One BFD session: the I/O shell around the pure FSM (session-fsm.ts). It runs the two timers,
 * encodes what the FSM sends and hands it to the transport its manager gave it, and turns state
 * changes into 'up' and 'down' events that the BGP side uses to drop a session at once
 * (RFC 5882 §4.3). Sockets and demultiplexing belong to the manager (bfd-manager.ts), so a
 * session never touches a socket and tests can wire two sessions back to back.
 */
import { EventEmitter } from 'node:events';
import { BfdState, describeDiag, encode, stateName } from './codec';
import type { ControlPacket } from './codec';
import { initialBfdFsm, step, detectionTimeUs, transmitIntervalUs } from './session-fsm';
import type { BfdAction, BfdEvent, BfdFsmState, BfdSessionParams, BfdTimer } from './session-fsm';
import { errorMessage } from '../util/errors';
import type { Logger } from '../util/log';

/** What defines a session; the peer address and hop mode are its identity. */
export interface BfdSessionConfig {
  peerAddress: string;
  /** Source address for our packets; default: chosen by the kernel's routing. */
  localAddress?: string;
  /** RFC 5883 multihop (port 4784, TTL check against minimumTtl) instead of RFC 5881 single-hop. */
  multihop: boolean;
  params: BfdSessionParams;
  /** Multihop only: the lowest TTL accepted (BFDProfile minimumTtl, default 254). */
  minimumTtl: number;
}

/** Why the session left Up, for the 'down' event and logs. */
export interface BfdDownInfo {
  peer: string;
  /** The RFC 5880 diagnostic code we recorded (1 detection time expired, 3 neighbor down, 7 admin down). */
  diag: number;
  diagText: string;
  /**
   * The peer said AdminDown. RFC 5882 §3.2: that is an administrative act, not a forwarding
   * failure, so a BGP client may keep its session; the event says so and lets it decide.
   */
  remoteAdminDown: boolean;
}

/** Per-session counters, named as FRR's `show bfd peers counters` (upstream's metrics read those). */
export interface BfdSessionCounters {
  controlPacketInput: number;
  controlPacketOutput: number;
  sessionUpEvents: number;
  sessionDownEvents: number;
  sendErrors: number;
}

/** A session's state for metrics and status. */
export interface BfdSessionStatus {
  peer: string;
  multihop: boolean;
  state: ReturnType<typeof stateName>;
  up: boolean;
  localDiscr: number;
  remoteDiscr: number;
  localDiag: number;
  /** Negotiated transmit interval and Detection Time (0 until the peer is heard), in ms. */
  transmitIntervalMs: number;
  detectionTimeMs: number;
  counters: BfdSessionCounters;
}

/** What a session needs from its manager. */
export interface BfdSessionDeps {
  log: Logger;
  /** Unique nonzero local discriminator (RFC 5880 §6.8.1). */
  localDiscr: number;
  /** Seed for the transmit jitter. */
  seed: number;
  /** Put one encoded Control packet on the wire to the peer; failures go to `onSendError`. */
  send: (payload: Buffer, onSendError: (err: Error) => void) => void;
}

/**
 * A BFD session to one peer. Events: 'up' (BfdSessionStatus), 'down' (BfdDownInfo),
 * 'state' ({ from, to, diag }) on every transition.
 */
export class BfdSession extends EventEmitter {
  readonly config: BfdSessionConfig;
  private readonly log: Logger;
  private readonly sendFn: BfdSessionDeps['send'];
  private fsm: BfdFsmState;
  private readonly timers = new Map<BfdTimer, NodeJS.Timeout>();
  private stopped = false;
  readonly counters: BfdSessionCounters = { controlPacketInput: 0, controlPacketOutput: 0, sessionUpEvents: 0, sessionDownEvents: 0, sendErrors: 0 };

  constructor(config: BfdSessionConfig, deps: BfdSessionDeps) {
    super();
    this.config = config;
    this.log = deps.log.child({ component: 'bfd', peer: config.peerAddress });
    this.sendFn = deps.send;
    this.fsm = initialBfdFsm(config.params, deps.localDiscr, deps.seed);
  }

  get state(): BfdState {
    return this.fsm.sessionState;
  }

  get localDiscr(): number {
    return this.fsm.localDiscr;
  }

  get up(): boolean {
    return this.fsm.sessionState === BfdState.Up;
  }

  /** Begin (an active session sends at once; a passive one waits to be spoken to). */
  start(): void {
    this.dispatch({ type: 'start' });
  }

  /** RFC 5880 §6.8.16: go AdminDown (diag 7) and tell the peer; packets keep flowing. */
  adminDown(): void {
    this.dispatch({ type: 'adminDown' });
  }

  adminUp(): void {
    this.dispatch({ type: 'adminUp' });
  }

  /** New timing from a changed BFDProfile: a Poll Sequence while Up, never a session reset. */
  setParams(params: BfdSessionParams): void {
    this.dispatch({ type: 'setParams', params });
  }

  /** A packet the manager selected for this session (already decoded and TTL-checked). */
  receive(packet: ControlPacket): void {
    if (this.stopped) return;
    this.counters.controlPacketInput++;
    this.log.trace({ event: 'packetIn', state: packet.state, diag: packet.diag, poll: packet.poll, final: packet.final }, 'BFD packet');
    this.dispatch({ type: 'packet', packet });
  }

  /**
   * Tear down: AdminDown goes to the peer first (so it does not read our silence as a failure,
   * RFC 5882 §3.2), then the timers stop. The manager closes the socket after this.
   */
  stop(): void {
    if (this.stopped) return;
    this.adminDown();
    this.stopped = true;
    for (const h of this.timers.values()) clearTimeout(h);
    this.timers.clear();
  }

  status(): BfdSessionStatus {
    const s = this.fsm;
    return {
      peer: this.config.peerAddress,
      multihop: this.config.multihop,
      state: stateName(s.sessionState),
      up: s.sessionState === BfdState.Up,
      localDiscr: s.localDiscr,
      remoteDiscr: s.remoteDiscr,
      localDiag: s.localDiag,
      transmitIntervalMs: transmitIntervalUs(s) / 1000,
      detectionTimeMs: detectionTimeUs(s) / 1000,
      counters: { ...this.counters },
    };
  }

  private dispatch(ev: BfdEvent): void {
    if (this.stopped) return;
    const r = step(this.fsm, ev);
    this.fsm = r.state;
    for (const a of r.actions) {
      try {
        this.execute(a);
      } catch (err) {
        this.log.error({ event: 'actionFailed', action: a.type, err: errorMessage(err) }, 'BFD action failed');
      }
    }
  }

  private execute(a: BfdAction): void {
    switch (a.type) {
      case 'send': {
        const payload = encode(a.packet);
        this.counters.controlPacketOutput++;
        this.sendFn(payload, (err) => {
          // A cut link shows up here (ENETUNREACH, EHOSTUNREACH): the Detection Time decides, not this.
          this.counters.sendErrors++;
          this.log.debug({ event: 'sendFailed', err: errorMessage(err) }, 'BFD send failed');
        });
        return;
      }
      case 'startTimer': {
        this.clearTimer(a.timer);
        const handle = setTimeout(() => {
          this.timers.delete(a.timer);
          this.dispatch({ type: 'timerExpired', timer: a.timer });
        }, a.ms);
        this.timers.set(a.timer, handle);
        return;
      }
      case 'stopTimer':
        return this.clearTimer(a.timer);
      case 'stateChange':
        return this.onStateChange(a.from, a.to, a.diag, a.remoteState);
    }
  }

  private clearTimer(timer: BfdTimer): void {
    const h = this.timers.get(timer);
    if (h) clearTimeout(h);
    this.timers.delete(timer);
  }

  private onStateChange(from: BfdState, to: BfdState, diag: number, remoteState: BfdState): void {
    const fields = { event: 'bfdStateChange', from: stateName(from), to: stateName(to), diag, diagText: describeDiag(diag) };
    this.safeEmit('state', { from, to, diag });
    if (to === BfdState.Up) {
      this.counters.sessionUpEvents++;
      this.log.info(fields, 'BFD session up');
      this.safeEmit('up', this.status());
    } else if (from === BfdState.Up) {
      this.counters.sessionDownEvents++;
      this.log.warn(fields, `BFD session down: ${describeDiag(diag)}`);
      const info: BfdDownInfo = {
        peer: this.config.peerAddress,
        diag,
        diagText: describeDiag(diag),
        remoteAdminDown: remoteState === BfdState.AdminDown,
      };
      this.safeEmit('down', info);
    } else {
      this.log.debug(fields, 'BFD state change');
    }
  }

  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log.error({ event: 'listenerFailed', name: event, err: errorMessage(err) }, 'BFD session event listener threw');
    }
  }
}
