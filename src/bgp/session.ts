/**
 * One BGP session: the I/O shell around the pure FSM, codec and Adj-RIB-out. It owns the TCP
 * socket (created by the native addon when MD5, TTL or a source address must be set before
 * connect), the timers, and the routes. It reconnects forever with backoff and never throws out
 * of an event handler: every failure becomes an FSM event and a log line.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { fullSync, planUpdates, prepareRoutes, refreshFamily } from './adj-rib-out';
import type { PreparedRoutes, RibContext, RibPlan, RouteAttributes } from './adj-rib-out';
import { decode, encode, Framer, initialContext, MessageType, updateErrorAction } from './codec';
import type { CodecContext, Family, Message } from './codec';
import { BgpError, describeNotification } from './errors';
import { initialFsm, SessionState, step } from './fsm';
import type { DownReason, FsmAction, FsmConfig, FsmEvent, FsmState, Negotiated, Timer } from './fsm';
import { localNextHops } from './next-hop';
import { createTcpSocketFd } from '../native';
import { errorMessage } from '../util/errors';
import type { Logger } from '../util/log';

/** Everything that defines a peering; changing any of it (but the next hops) resets the session. */
export interface BgpSessionConfig {
  peerAddress: string;
  /** Default 179. */
  peerPort?: number;
  peerAsn: number;
  localAsn: number;
  routerId: string;
  holdTimeSec: number;
  keepaliveTimeSec?: number;
  connectTimeSec: number;
  /** TCP MD5 key (RFC 2385); never logged. */
  password?: string;
  sourceAddress?: string;
  /** TTL 255 instead of 1 for eBGP (iBGP keeps the kernel default). */
  ebgpMultiHop: boolean;
  /** Advertise RFC 4724 graceful restart with this restart time. */
  gracefulRestart?: { restartTimeSec: number };
  /** Default: IPv4 and IPv6 unicast. */
  families?: Family[];
  /** Next hop overrides; by default the connection's local addresses are used. */
  nextHopIpv4?: string;
  nextHopIpv6?: string;
  /** Reconnect backoff; default 1 s doubling to 2 min. */
  backoff?: { initialMs: number; maxMs: number };
}

/** What a session needs from its environment (all injectable for tests). */
export interface BgpSessionDeps {
  log: Logger;
  random?: () => number;
  /** Creates the connecting socket; default uses net, or the native addon for MD5/TTL/source. */
  connect?: (cfg: BgpSessionConfig, log: Logger) => net.Socket;
}

/** Counters for metrics. */
export interface BgpSessionCounters {
  messagesSent: number;
  updatesSent: number;
  updatesReceived: number;
  /** Prefixes the peer currently has from us. */
  prefixesAnnounced: number;
  /** Announcements and withdrawals sent since start (per prefix). */
  prefixAnnouncementsSent: number;
  prefixWithdrawalsSent: number;
  notificationsSent: number;
  notificationsReceived: number;
  establishedTransitions: number;
}

/** The result of updateConfig. */
export type ConfigChange = { reset: false; routesResent: boolean } | { reset: true };

const ALL_FAMILIES: Family[] = [
  { afi: 1, safi: 1 },
  { afi: 2, safi: 1 },
];

function fsmConfig(cfg: BgpSessionConfig): FsmConfig {
  return {
    localAsn: cfg.localAsn,
    peerAsn: cfg.peerAsn,
    routerId: cfg.routerId,
    holdTimeSec: cfg.holdTimeSec,
    keepaliveTimeSec: cfg.keepaliveTimeSec,
    connectTimeSec: cfg.connectTimeSec,
    families: cfg.families ?? ALL_FAMILIES,
    gracefulRestart: cfg.gracefulRestart,
    backoff: cfg.backoff ?? { initialMs: 1000, maxMs: 120_000 },
  };
}

/** Session parameters: everything except the next-hop overrides, which only change routes. */
function sessionParams(cfg: BgpSessionConfig): unknown {
  const { nextHopIpv4: _a, nextHopIpv6: _b, ...rest } = cfg;
  return { ...rest, peerPort: rest.peerPort ?? 179, families: rest.families ?? ALL_FAMILIES };
}

/** TTL for the socket: 1 for single-hop eBGP (RFC 4271 §8 GTSM-style safety), 255 for multihop. */
export function socketTtl(cfg: BgpSessionConfig): number | undefined {
  if (cfg.localAsn === cfg.peerAsn) return undefined;
  return cfg.ebgpMultiHop ? 255 : 1;
}

/** The default socket factory: native fd when options must precede connect, else plain net. */
export function defaultConnect(cfg: BgpSessionConfig, log: Logger): net.Socket {
  const family = cfg.peerAddress.includes(':') ? 6 : 4;
  const port = cfg.peerPort ?? 179;
  const ttl = socketTtl(cfg);
  if (cfg.password !== undefined || ttl !== undefined) {
    try {
      const fd = createTcpSocketFd({
        family,
        localAddress: cfg.sourceAddress,
        ttl,
        md5: cfg.password !== undefined ? [{ peer: cfg.peerAddress, key: cfg.password }] : undefined,
      });
      return new net.Socket({ fd, readable: true, writable: true }).connect(port, cfg.peerAddress);
    } catch (err) {
      // MD5 cannot be faked: without the addon the session must not connect unauthenticated.
      if (cfg.password !== undefined) throw err;
      log.warn({ event: 'ttlUnavailable', err: errorMessage(err) }, 'cannot set the socket TTL; using the kernel default');
    }
  }
  return net.connect({ host: cfg.peerAddress, port, localAddress: cfg.sourceAddress, family });
}

interface Connection {
  socket: net.Socket;
  framer: Framer;
  ctx: CodecContext;
}

/**
 * A BGP session to one peer. Events: 'state' (state, previous), 'established' (Negotiated),
 * 'down' (DownReason).
 */
export class BgpSession extends EventEmitter {
  private cfg: BgpSessionConfig;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly connectFn: (cfg: BgpSessionConfig, log: Logger) => net.Socket;
  private fsm: FsmState;
  private conn: Connection | undefined;
  private readonly timers = new Map<Timer, NodeJS.Timeout>();
  private desired: ReadonlyMap<string, RouteAttributes> = new Map();
  /** `desired` canonicalised and keyed, computed when set rather than after Established. */
  private prepared: PreparedRoutes | undefined;
  private routesKnown = false;
  private advertised = new Map<string, string>();
  /** Full table and End-of-RIB sent on this connection. */
  private synced = false;
  /** The skipped routes last reported, so one condition is logged once per session. */
  private lastSkipped = '';
  private syncScheduled = false;
  private ribCtx: RibContext | undefined;
  private readonly closing = new Set<net.Socket>();
  readonly counters: BgpSessionCounters = {
    messagesSent: 0,
    updatesSent: 0,
    updatesReceived: 0,
    prefixesAnnounced: 0,
    prefixAnnouncementsSent: 0,
    prefixWithdrawalsSent: 0,
    notificationsSent: 0,
    notificationsReceived: 0,
    establishedTransitions: 0,
  };

  constructor(cfg: BgpSessionConfig, deps: BgpSessionDeps) {
    super();
    this.cfg = cfg;
    this.log = deps.log.child({ component: 'bgp', peer: cfg.peerAddress });
    this.random = deps.random ?? Math.random;
    this.connectFn = deps.connect ?? defaultConnect;
    this.fsm = initialFsm(fsmConfig(cfg), Math.floor(this.random() * 0x100000000));
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
    await Promise.all([...this.closing].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))));
  }

  /**
   * Replace the routes to advertise. Only the difference is sent; never resets the session.
   * Until the first call nothing is advertised, so after a restart End-of-RIB waits for the
   * real table (RFC 4724 §4.1: the peer keeps our stale routes meanwhile).
   */
  setRoutes(routes: ReadonlyMap<string, RouteAttributes>): void {
    this.desired = routes;
    this.prepared = undefined;
    this.routesKnown = true;
    try {
      this.prepared = prepareRoutes(routes, this.cfg.localAsn === this.cfg.peerAsn);
    } catch (err) {
      this.log.error({ event: 'prepareFailed', err }, 'cannot prepare routes');
    }
    this.scheduleSync();
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
      this.ribCtx = this.buildRibContext(this.fsm.negotiated!);
      this.advertised = new Map();
      this.scheduleSync();
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
        return this.send([a.msg]);
      case 'disconnect':
        return this.closeConnection();
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
      case 'established':
        return this.onEstablished(a.negotiated);
      case 'down':
        return this.onDown(a.reason, a.wasEstablished);
      case 'update': {
        this.counters.updatesReceived++;
        const action = updateErrorAction(a.msg);
        if (action) {
          // RFC 7606: logged, session kept; we ignore the peer's routes anyway (as upstream).
          this.log.warn({ event: 'updateError', action, errors: a.msg.attrErrors!.map((e) => e.message) }, 'malformed UPDATE from peer');
        }
        return;
      }
      case 'routeRefresh':
        if (this.ribCtx && this.synced) this.sendPlan(refreshFamily(this.desired, this.advertised, a.family, this.ribCtx));
        return;
      case 'notificationReceived':
        this.counters.notificationsReceived++;
        this.log.warn(
          { event: 'notificationReceived', code: a.code, subcode: a.subcode, data: a.data.toString('hex') },
          `peer sent NOTIFICATION: ${a.text}`,
        );
        return;
    }
  }

  private clearTimer(timer: Timer): void {
    const h = this.timers.get(timer);
    if (h) clearTimeout(h);
    this.timers.delete(timer);
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
    const conn: Connection = { socket, framer: new Framer(), ctx: initialContext };
    this.conn = conn;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (this.conn !== conn) return;
      this.log.debug({ event: 'tcpConnected', local: socket.localAddress }, 'TCP connected');
      this.dispatch({ type: 'tcpConnected' });
    });
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) => {
      if (this.conn === conn) this.log.debug({ event: 'socketError', err: err.message }, 'BGP socket error');
    });
    socket.on('close', () => {
      this.closing.delete(socket);
      if (this.conn !== conn) return;
      this.conn = undefined;
      this.dispatch({ type: 'tcpFailed', error: 'connection closed' });
    });
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
    for (const frame of frames) {
      if (this.conn !== conn) return;
      let msg: Message;
      try {
        msg = decode(frame, conn.ctx);
      } catch (err) {
        if (err instanceof BgpError) {
          this.log.warn({ event: 'decodeError', err: err.message }, 'malformed message from peer');
          this.dispatch({ type: 'decodeError', error: err });
        } else {
          this.log.error({ event: 'decodeBug', err }, 'unexpected decode failure');
        }
        return;
      }
      this.log.trace({ event: 'received', type: msg.type }, 'BGP message received');
      this.dispatch({ type: 'message', msg });
    }
    // A bad header after whole messages in the same chunk: those were handled, now fail.
    if (this.conn === conn && conn.framer.error) this.dispatch({ type: 'decodeError', error: conn.framer.error });
  }

  private closeConnection(): void {
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    const socket = conn.socket;
    this.closing.add(socket);
    // end() flushes a NOTIFICATION written just before; destroy() guarantees the close.
    socket.end();
    const force = setTimeout(() => socket.destroy(), 1000);
    force.unref();
    socket.once('close', () => {
      clearTimeout(force);
      this.closing.delete(socket);
    });
  }

  private send(msgs: Message[]): void {
    const conn = this.conn;
    if (!conn || msgs.length === 0) return;
    const bufs = msgs.map((m) => encode(m, conn.ctx));
    for (const m of msgs) {
      this.counters.messagesSent++;
      if (m.type === MessageType.Update) this.counters.updatesSent++;
      if (m.type === MessageType.Notification) {
        this.counters.notificationsSent++;
        this.log.warn({ event: 'notificationSent', code: m.code, subcode: m.subcode }, `sending NOTIFICATION: ${describeNotification(m.code, m.subcode)}`);
      }
    }
    conn.socket.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
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
      ibgp: this.cfg.localAsn === this.cfg.peerAsn,
      fourOctetAs: neg.fourOctetAs,
      nextHopIpv4: hops.ipv4,
      nextHopsIpv6: hops.ipv6,
    };
  }

  private onEstablished(neg: Negotiated): void {
    if (this.conn) this.conn.ctx = { fourOctetAs: neg.fourOctetAs };
    this.counters.establishedTransitions++;
    this.ribCtx = this.buildRibContext(neg);
    this.advertised = new Map();
    this.synced = false;
    this.log.info(
      { event: 'sessionUp', holdTimeSec: neg.holdTimeSec, families: neg.families, nextHops: [this.ribCtx.nextHopIpv4, this.ribCtx.nextHopsIpv6] },
      'BGP session established',
    );
    this.safeEmit('established', neg);
    this.scheduleSync();
  }

  private onDown(reason: DownReason, wasEstablished: boolean): void {
    this.advertised = new Map();
    this.lastSkipped = '';
    this.counters.prefixesAnnounced = 0;
    this.synced = false;
    this.ribCtx = undefined;
    const level = reason.kind === 'stopped' ? 'info' : wasEstablished ? 'warn' : 'debug';
    this.log[level]({ event: 'sessionDown', reason, wasEstablished }, 'BGP session down');
    this.safeEmit('down', reason);
  }

  private scheduleSync(): void {
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    // Coalesce bursts of setRoutes in one tick into one diff.
    setImmediate(() => {
      this.syncScheduled = false;
      try {
        this.sync();
      } catch (err) {
        this.log.error({ event: 'syncFailed', err }, 'BGP route sync failed');
      }
    });
  }

  private sync(): void {
    if (!this.conn || this.fsm.state !== SessionState.Established || !this.ribCtx || !this.routesKnown) return;
    if (!this.synced) {
      this.synced = true;
      const plan = fullSync(this.prepared ?? this.desired, this.ribCtx);
      this.reportSkipped(plan);
      this.sendPlan(plan);
      this.log.info({ event: 'ribSynced', prefixes: plan.advertised.size, updates: plan.updates.length }, 'sent full table and End-of-RIB');
      return;
    }
    const plan = planUpdates(this.prepared ?? this.desired, this.advertised, this.ribCtx);
    this.reportSkipped(plan);
    this.sendPlan(plan);
  }

  /**
   * Routes of a family the peer did not negotiate (an IPv6 pool and an IPv4-only FRR neighbor)
   * stay pending for good (`metallb_bgp_pending_prefixes_total` above announced): say so at warn,
   * once per session and change, rather than at debug on every diff.
   */
  private reportSkipped(plan: RibPlan): void {
    const key = plan.skipped.join(',');
    if (key === this.lastSkipped) return;
    this.lastSkipped = key;
    if (plan.skipped.length === 0) return;
    this.log.warn(
      { event: 'routesSkipped', count: plan.skipped.length, sample: plan.skipped.slice(0, 5), families: this.ribCtx?.families },
      'routes not sent to this peer: address family not negotiated, no next hop of that family, or invalid prefix',
    );
  }

  private sendPlan(plan: RibPlan): void {
    this.send(plan.updates);
    this.advertised = plan.advertised;
    this.counters.prefixesAnnounced = plan.advertised.size;
    this.counters.prefixAnnouncementsSent += plan.announced;
    this.counters.prefixWithdrawalsSent += plan.withdrawn;
  }
}
