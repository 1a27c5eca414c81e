/**
 * One BGP session: the I/O shell around the pure FSM, codec and Adj-RIB-out. It owns the TCP
 * socket (created by the native addon when MD5, TTL or a source address must be set before
 * connect), the timers, and the routes. It reconnects forever with backoff and never throws out
 * of an event handler: every failure becomes an FSM event and a log line. Both directions are
 * bounded: received messages are handled in time slices shared with the other sessions
 * (SliceScheduler) with the socket paused meanwhile (TCP pushes back on a flood), route output is
 * planned only when the socket can take it (session-output.ts, route-sync.ts), and warnings about
 * the peer's messages are rate-limited.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { RibContext, RouteAttributes } from './adj-rib-out';
import { decode, encode, Framer, initialContext, MessageType, updateErrorAction } from './codec';
import type { CodecContext, Message, UpdateMessage } from './codec';
import { BgpError, describeNotification } from './errors';
import { initialFsm, OPEN_HOLD_TIME_SEC, SessionState, step } from './fsm';
import type { DownReason, FsmAction, FsmEvent, FsmState, Negotiated, Timer } from './fsm';
import { localNextHops } from './next-hop';
import { isIbgp } from './peer-as';
import { RouteSync } from './route-sync';
import { defaultConnect, fsmConfig, sessionParams, zeroCounters } from './session-config';
import type { BgpSessionConfig, BgpSessionCounters, ConfigChange } from './session-config';
import { DEFAULT_OUTPUT_LIMITS, SessionOutput } from './session-output';
import type { OutputLimits, Scheduled } from './session-output';
import { errorMessage } from '../util/errors';
import type { Logger } from '../util/log';
import { PEER_WARNING_POLICY, RateLimitedLog } from '../util/rate-limited-log';
import type { RateLimitPolicy } from '../util/rate-limited-log';
import { SliceScheduler } from '../util/slice-scheduler';
import type { SliceTask } from '../util/slice-scheduler';

export { defaultConnect, socketTtl } from './session-config';
export type { BgpSessionConfig, BgpSessionCounters, ConfigChange } from './session-config';

/** What a session needs from its environment (all injectable for tests). */
export interface BgpSessionDeps {
  log: Logger;
  random?: () => number;
  /** Monotonic milliseconds; default performance.now. */
  now?: () => number;
  /** Creates the connecting socket; default uses net, or the native addon for MD5/TTL/source. */
  connect?: (cfg: BgpSessionConfig, log: Logger) => net.Socket;
  /** Output bounds; default DEFAULT_OUTPUT_LIMITS. */
  outputLimits?: OutputLimits;
  /** How warnings about the peer's messages are rate-limited; default PEER_WARNING_POLICY. */
  warningPolicy?: RateLimitPolicy;
  /**
   * Time slicing shared with the other sessions (the peer manager passes one to all); default:
   * one of the session's own.
   */
  scheduler?: SliceScheduler;
}

interface Connection {
  socket: net.Socket;
  framer: Framer;
  ctx: CodecContext;
  output: SessionOutput;
  /** Whole messages received and not yet handled (a flood is handled in slices). */
  inbox: Buffer[];
  inboxAt: number;
  inboxTask: SliceTask;
  /** The socket's error, if any: the reason its close reports (ECONNREFUSED says more than "closed"). */
  error?: string;
}

const timer = (fn: () => void, ms: number): Scheduled => {
  const h = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(h) };
};

/**
 * A BGP session to one peer. Events: 'state' (state, previous), 'established' (Negotiated),
 * 'down' (DownReason).
 */
export class BgpSession extends EventEmitter {
  private cfg: BgpSessionConfig;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly connectFn: (cfg: BgpSessionConfig, log: Logger) => net.Socket;
  private readonly outputLimits: OutputLimits;
  private readonly scheduler: SliceScheduler;
  private fsm: FsmState;
  private conn: Connection | undefined;
  private readonly timers = new Map<Timer, { handle: NodeJS.Timeout; ms: number }>();
  private readonly routes: RouteSync;
  private readonly warnings: RateLimitedLog;
  private readonly closing = new Set<net.Socket>();
  readonly counters: BgpSessionCounters = zeroCounters();

  constructor(cfg: BgpSessionConfig, deps: BgpSessionDeps) {
    super();
    this.cfg = cfg;
    this.log = deps.log.child({ component: 'bgp', peer: cfg.peerAddress });
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? (() => performance.now());
    this.connectFn = deps.connect ?? defaultConnect;
    this.outputLimits = deps.outputLimits ?? DEFAULT_OUTPUT_LIMITS;
    this.scheduler = deps.scheduler ?? new SliceScheduler(undefined, { now: this.now });
    this.fsm = initialFsm(fsmConfig(cfg), Math.floor(this.random() * 0x100000000));
    this.routes = new RouteSync(this.log, this.counters, this.now);
    this.warnings = new RateLimitedLog(this.log, deps.warningPolicy ?? PEER_WARNING_POLICY, { now: this.now });
  }

  /** Current FSM state. */
  get state(): SessionState {
    return this.fsm.state;
  }

  /** What the OPENs negotiated, while the session is up. */
  get negotiated(): Negotiated | undefined {
    return this.fsm.state === SessionState.Established ? this.fsm.negotiated : undefined;
  }

  /** Current configuration. */
  get config(): BgpSessionConfig {
    return this.cfg;
  }

  /** Start connecting (and keep reconnecting until stop). */
  start(): void {
    this.dispatch({ type: 'start' });
  }

  /**
   * Stop: Cease to the peer if connected (6/2 administrative shutdown unless `subcode` says
   * otherwise), no reconnect. Resolves when the socket is gone.
   */
  async stop(subcode?: number): Promise<void> {
    this.dispatch(subcode === undefined ? { type: 'stop' } : { type: 'stop', subcode });
    this.warnings.flush();
    await Promise.all([...this.closing].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))));
  }

  /**
   * Replace the routes to advertise. Only the difference is sent; never resets the session.
   * Until the first call nothing is advertised, so after a restart End-of-RIB waits for the
   * real table (RFC 4724 §4.1: the peer keeps our stale routes meanwhile).
   */
  setRoutes(routes: ReadonlyMap<string, RouteAttributes>): void {
    this.routes.setRoutes(routes, isIbgp(this.cfg.localAsn, this.cfg.peerAsn));
    this.kickOutput();
  }

  /**
   * Apply a new configuration. Only a change of session parameters resets the session (Cease
   * 6/6, RFC 4486); a next-hop change re-announces the routes over the live session.
   */
  updateConfig(cfg: BgpSessionConfig): ConfigChange {
    const old = this.cfg;
    this.cfg = cfg;
    if (!isDeepStrictEqual(sessionParams(old), sessionParams(cfg))) {
      const wasRunning = this.fsm.running;
      const restarting = this.fsm.restarting;
      if (wasRunning) this.dispatch({ type: 'stop', subcode: 6 });
      this.fsm = { ...initialFsm(fsmConfig(cfg), Math.floor(this.random() * 0x100000000)), restarting };
      this.log.info({ event: 'sessionReset' }, 'BGP session parameters changed; resetting the session');
      if (wasRunning) this.dispatch({ type: 'start' });
      return { reset: true };
    }
    if (old.nextHopIpv4 === cfg.nextHopIpv4 && old.nextHopIpv6 === cfg.nextHopIpv6) return { reset: false, routesResent: false };
    if (this.conn && this.fsm.state === SessionState.Established) {
      this.routes.nextHopsChanged(this.buildRibContext(this.fsm.negotiated!));
      this.kickOutput();
    }
    return { reset: false, routesResent: true };
  }

  private dispatch(ev: FsmEvent): void {
    let actions: FsmAction[];
    const prev = this.fsm.state;
    try {
      const r = step(this.fsm, ev);
      this.fsm = r.state;
      actions = r.actions;
    } catch (err) {
      this.log.error({ event: 'fsmError', err }, 'BGP FSM step failed');
      return;
    }
    for (const a of actions) {
      try {
        this.execute(a);
      } catch (err) {
        this.log.error({ event: 'actionFailed', action: a.type, err }, 'BGP action failed');
      }
    }
    if (this.fsm.state !== prev) {
      this.log.debug({ event: 'stateChange', from: prev, to: this.fsm.state }, 'BGP state change');
      this.safeEmit('state', this.fsm.state, prev);
    }
  }

  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log.error({ event: 'listenerFailed', name: event, err }, 'BGP session event listener threw');
    }
  }

  private execute(a: FsmAction): void {
    switch (a.type) {
      case 'connect':
        return this.openConnection();
      case 'send':
        return this.send(a.msg);
      case 'disconnect':
        return this.closeConnection();
      case 'startTimer':
        return this.startTimer(a.timer, a.ms);
      case 'stopTimer':
        return this.clearTimer(a.timer);
      case 'established':
        return this.onEstablished(a.negotiated);
      case 'down':
        return this.onDown(a.reason, a.wasEstablished);
      case 'update':
        return this.onUpdate(a.msg);
      case 'routeRefresh': {
        const r = this.routes.requestRefresh(a.family);
        if (r === 'beforeSync') return;
        this.counters.routeRefreshesReceived++;
        if (r === 'folded') this.counters.routeRefreshesFolded++;
        else this.kickOutput();
        return;
      }
      case 'notificationReceived':
        this.counters.notificationsReceived++;
        this.warnPeer(
          'notificationReceived',
          { event: 'notificationReceived', code: a.code, subcode: a.subcode, data: a.data.toString('hex') },
          `peer sent NOTIFICATION: ${a.text}`,
        );
        return;
    }
  }

  /**
   * Every KEEPALIVE and UPDATE restarts the hold timer: re-arm the same timer in place rather
   * than allocating a new one per message (200,000 KEEPALIVEs in one write are 200,000 restarts).
   */
  private startTimer(t: Timer, ms: number): void {
    const existing = this.timers.get(t);
    if (existing !== undefined && existing.ms === ms) {
      existing.handle.refresh();
      return;
    }
    this.clearTimer(t);
    const handle = setTimeout(() => {
      this.timers.delete(t);
      this.dispatch({ type: 'timerExpired', timer: t });
    }, ms);
    this.timers.set(t, { handle, ms });
  }

  private clearTimer(t: Timer): void {
    const h = this.timers.get(t);
    if (h) clearTimeout(h.handle);
    this.timers.delete(t);
  }

  /** Count a warning about the peer's messages and log it, rate-limited per event. */
  private warnPeer(event: string, obj: Record<string, unknown>, msg: string): void {
    this.counters.warnings[event] = (this.counters.warnings[event] ?? 0) + 1;
    this.warnings.warn(event, obj, msg);
  }

  private onUpdate(msg: UpdateMessage): void {
    this.counters.updatesReceived++;
    const action = updateErrorAction(msg);
    if (!action) return;
    // RFC 7606: logged, session kept; we ignore the peer's routes anyway (as upstream). A count
    // and a sample, not the list: one UPDATE can repeat an attribute a thousand times.
    const errors = msg.attrErrors!;
    this.warnPeer('updateError', { event: 'updateError', action, errorCount: errors.length, sample: errors.slice(0, 3).map((e) => e.reason) }, 'malformed UPDATE from peer');
  }

  private openConnection(): void {
    this.closeConnection();
    let socket: net.Socket;
    try {
      socket = this.connectFn(this.cfg, this.log);
    } catch (err) {
      this.log.warn({ event: 'connectFailed', err: errorMessage(err) }, 'cannot create the BGP socket');
      setImmediate(() => this.dispatch({ type: 'tcpFailed', error: errorMessage(err) }));
      return;
    }
    const conn: Connection = {
      socket,
      framer: new Framer(),
      ctx: initialContext,
      output: this.newOutput(socket),
      inbox: [],
      inboxAt: 0,
      inboxTask: (yieldNow) => this.handleInbox(conn, yieldNow),
    };
    this.conn = conn;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (this.conn !== conn) return;
      this.log.debug({ event: 'tcpConnected', local: socket.localAddress }, 'TCP connected');
      this.dispatch({ type: 'tcpConnected' });
    });
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) => {
      conn.error = err.message;
      if (this.conn === conn) this.log.debug({ event: 'socketError', err: err.message }, 'BGP socket error');
    });
    socket.on('close', () => {
      this.closing.delete(socket);
      if (this.conn !== conn) return;
      this.conn = undefined;
      conn.output.close();
      this.scheduler.cancel(conn.inboxTask);
      this.dispatch({ type: 'tcpFailed', error: conn.error ?? 'connection closed' });
    });
  }

  private newOutput(socket: net.Socket): SessionOutput {
    return new SessionOutput(
      socket,
      {
        encode: (m) => encode(m, this.conn?.ctx ?? initialContext),
        next: () => (this.fsm.state === SessionState.Established ? this.routes.next() : undefined),
        sent: (m) => this.countSent(m),
        stalled: (reason) => {
          // Deferred: this can fire inside a write inside a dispatch.
          setImmediate(() => {
            if (this.conn?.socket !== socket) return;
            this.log.warn({ event: 'peerNotReading', reason }, 'peer is not reading our messages; resetting the session (Cease 6/8)');
            this.dispatch({ type: 'outOfResources', reason });
          });
        },
        failed: (err) => this.log.error({ event: 'syncFailed', err }, 'BGP route output failed'),
        stallMs: () => ((this.fsm.negotiated?.holdTimeSec ?? 0) || OPEN_HOLD_TIME_SEC) * 1000,
        scheduler: this.scheduler,
        setTimer: timer,
      },
      this.outputLimits,
    );
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (this.conn !== conn) return;
    let frames: Buffer[];
    try {
      frames = conn.framer.push(chunk);
    } catch (err) {
      this.dispatch({ type: 'decodeError', error: err as BgpError });
      return;
    }
    if (conn.inbox.length === 0) conn.inbox = frames;
    else for (const f of frames) conn.inbox.push(f);
    // Handled in the scheduler's slices, not here; until then TCP flow control holds the rest
    // of a flood in the kernel.
    conn.socket.pause();
    this.scheduler.schedule(conn.inboxTask);
  }

  /** One slice of received messages; true while more remain. */
  private handleInbox(conn: Connection, yieldNow: () => boolean): boolean {
    while (conn.inboxAt < conn.inbox.length) {
      if (this.conn !== conn) return false;
      if (!this.handleFrame(conn, conn.inbox[conn.inboxAt++]!)) return false;
      if (conn.inboxAt < conn.inbox.length && yieldNow()) return true;
    }
    conn.inbox = [];
    conn.inboxAt = 0;
    if (this.conn !== conn) return false;
    // A bad header after whole messages in the same chunk: those were handled, now fail.
    if (conn.framer.error) {
      this.dispatch({ type: 'decodeError', error: conn.framer.error });
      return false;
    }
    conn.socket.resume();
    return false;
  }

  /** Decode and dispatch one message; false when the connection must not read further. */
  private handleFrame(conn: Connection, frame: Buffer): boolean {
    let msg: Message;
    try {
      msg = decode(frame, conn.ctx);
    } catch (err) {
      if (err instanceof BgpError) {
        this.warnPeer('decodeError', { event: 'decodeError', err: err.message }, 'malformed message from peer');
        this.dispatch({ type: 'decodeError', error: err });
      } else {
        this.log.error({ event: 'decodeBug', err }, 'unexpected decode failure');
      }
      return false;
    }
    this.counters.messagesReceived++;
    this.log.trace({ event: 'received', type: msg.type }, 'BGP message received');
    this.dispatch({ type: 'message', msg });
    return this.conn === conn;
  }

  private closeConnection(): void {
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    conn.output.close();
    this.scheduler.cancel(conn.inboxTask);
    conn.inbox = [];
    const socket = conn.socket;
    this.closing.add(socket);
    // end() flushes a NOTIFICATION written just before; destroy() guarantees the close (also
    // when the peer reads nothing and the NOTIFICATION sits behind unread output).
    socket.end();
    const force = setTimeout(() => socket.destroy(), 1000);
    force.unref();
    socket.once('close', () => {
      clearTimeout(force);
      this.closing.delete(socket);
    });
  }

  /** Control messages from the FSM: written at once, never queued behind routes. */
  private send(msg: Message): void {
    this.conn?.output.sendNow([msg]);
  }

  private countSent(m: Message): void {
    this.counters.messagesSent++;
    if (m.type === MessageType.Update) this.counters.updatesSent++;
    if (m.type === MessageType.Notification) {
      this.counters.notificationsSent++;
      this.log.warn({ event: 'notificationSent', code: m.code, subcode: m.subcode }, `sending NOTIFICATION: ${describeNotification(m.code, m.subcode)}`);
    }
  }

  private kickOutput(): void {
    if (this.conn && this.fsm.state === SessionState.Established) this.conn.output.kick();
  }

  private buildRibContext(neg: Negotiated): RibContext {
    const local = this.conn?.socket.localAddress ?? this.cfg.sourceAddress ?? '';
    const hops = localNextHops(local, this.cfg.peerAddress, {
      nextHopIpv4: this.cfg.nextHopIpv4,
      nextHopIpv6: this.cfg.nextHopIpv6,
    });
    return {
      families: neg.families,
      localAsn: this.cfg.localAsn,
      // The AS from the peer's OPEN: with dynamicASN the configuration has none.
      ibgp: neg.peerAsn === this.cfg.localAsn,
      fourOctetAs: neg.fourOctetAs,
      nextHopIpv4: hops.ipv4,
      nextHopsIpv6: hops.ipv6,
      ...(neg.extendedNextHopIpv4 ? { ipv4ViaIpv6: true } : {}),
    };
  }

  private onEstablished(neg: Negotiated): void {
    if (this.conn) this.conn.ctx = { fourOctetAs: neg.fourOctetAs };
    this.counters.establishedTransitions++;
    const ctx = this.buildRibContext(neg);
    this.routes.established(ctx);
    this.log.info(
      { event: 'sessionUp', peerAsn: neg.peerAsn, holdTimeSec: neg.holdTimeSec, families: neg.families, nextHops: [ctx.nextHopIpv4, ctx.nextHopsIpv6] },
      'BGP session established',
    );
    this.safeEmit('established', neg);
    this.kickOutput();
  }

  private onDown(reason: DownReason, wasEstablished: boolean): void {
    this.routes.down();
    const level = reason.kind === 'stopped' ? 'info' : wasEstablished ? 'warn' : 'debug';
    this.log[level]({ event: 'sessionDown', reason, wasEstablished, failures: this.fsm.failures }, 'BGP session down');
    this.safeEmit('down', reason);
  }
}
