/**
 * The BGP finite state machine (RFC 4271 §8) as a pure step function:
 * `step(state, event) -> { state, actions }`. Timer expiries arrive as events and the socket
 * shell (session.ts) executes the actions, so every transition is testable without sockets or
 * sleeping. We are the active side only, as MetalLB's native speaker: the Active state is
 * never entered and a failed attempt waits in Idle for the IdleHoldTimer (RFC 4271 §8.1.1's
 * DampPeerOscillations), whose exponential backoff with jitter replaces upstream's fixed
 * doubling without jitter. Reaching Established does not clear the failure count; staying there
 * for the stable period does, so a peer that resets every session right after it comes up is
 * re-dialled ever more slowly instead of once a second with a full table each time.
 */
import { CeaseSubcode, describeNotification, FsmSubcode, NotificationCode, OpenSubcode } from './errors';
import { AttrErrorAction, BgpError } from './errors';
import { Afi, AS_TRANS, BGP_VERSION, MessageType, RouteRefreshSubtype, Safi } from './codec/types';
import type { Capability, Family, Message, NotificationMessage, OpenMessage, UpdateMessage } from './codec/types';
import { checkPeerAs } from './peer-as';
import type { PeerAsn } from './peer-as';

/** Session states (RFC 4271 §8.2.2). */
export const SessionState = {
  Idle: 'Idle',
  Connect: 'Connect',
  OpenSent: 'OpenSent',
  OpenConfirm: 'OpenConfirm',
  Established: 'Established',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/** The FSM's timers; the shell runs at most one of each. */
export const Timer = {
  ConnectRetry: 'connectRetry',
  Hold: 'hold',
  Keepalive: 'keepalive',
  IdleHold: 'idleHold',
  /** Runs while Established; its expiry clears the failure count (the session proved stable). */
  Stable: 'stable',
} as const;
export type Timer = (typeof Timer)[keyof typeof Timer];

/** RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN ("a large value", 4 minutes). */
export const OPEN_HOLD_TIME_SEC = 240;

/** What the FSM needs to know about the peering. */
export interface FsmConfig {
  /** The AS we present (in the OPEN and the 4-octet AS capability). */
  localAsn: number;
  /** The AS the peer must announce, or a dynamic rule (internal/external) its OPEN is checked against. */
  peerAsn: PeerAsn;
  routerId: string;
  /** 0 (no keepalives) or at least 3 (RFC 4271 §4.2). */
  holdTimeSec: number;
  /** Keepalive interval; undefined means a third of the negotiated hold time. */
  keepaliveTimeSec?: number;
  /** How long one TCP connection attempt may take. */
  connectTimeSec: number;
  families: Family[];
  /**
   * Advertise Extended Next Hop (RFC 8950) for IPv4 unicast over IPv6 next hops: what an
   * unnumbered (`interface`) peering needs, as FRR enables it on its interface neighbors.
   */
  extendedNextHop?: boolean;
  /** Advertise graceful restart (RFC 4724) with this restart time. */
  gracefulRestart?: { restartTimeSec: number };
  /**
   * Reconnect backoff: first delay, doubling up to the cap, times a jitter of 0.75..1. The
   * failure count is cleared once a session stays Established for `stableMs` (default
   * DEFAULT_STABLE_MS).
   */
  backoff: { initialMs: number; maxMs: number; stableMs?: number };
}

/**
 * How long a session must stay Established before its failures are forgotten: BIRD's
 * `error forget time` default (300 s). Shorter would let a peer that drops us every few minutes
 * reset the backoff to 1 s each time; see docs/bgp.md "Reconnect damping".
 */
export const DEFAULT_STABLE_MS = 300_000;

/** What both OPENs agreed on (RFC 4271 §4.2, RFC 5492). */
export interface Negotiated {
  holdTimeSec: number;
  keepaliveMs: number;
  fourOctetAs: boolean;
  /** Families both sides announced (IPv4 unicast only if the peer sent no MP capability). */
  families: Family[];
  peerAsn: number;
  peerBgpIdentifier: string;
  peerRouteRefresh: boolean;
  /** Both sides advertised Extended Next Hop for IPv4 unicast: IPv4 routes may carry IPv6 next hops. */
  extendedNextHopIpv4?: true;
  peerGracefulRestart?: { restartTimeSec: number; restarting: boolean };
}

/** FSM state: plain data, replaced on every step. */
export interface FsmState {
  state: SessionState;
  config: FsmConfig;
  /** Started and not stopped: failures lead to a reconnect. */
  running: boolean;
  /** Failed attempts and dropped sessions since a session last stayed up for the stable period (drives the backoff). */
  failures: number;
  /** xorshift32 state, seeded by the shell: randomness injected, the step stays pure. */
  rng: number;
  /** Set our R bit until the first session of this process is up (RFC 4724 §3). */
  restarting: boolean;
  negotiated?: Negotiated;
}

/** Why a session went down, for logs and the 'down' event. */
export type DownReason =
  | { kind: 'notificationSent'; code: number; subcode: number; text: string }
  | { kind: 'notificationReceived'; code: number; subcode: number; text: string }
  | { kind: 'tcpFailed'; error: string }
  | { kind: 'connectTimeout' }
  | { kind: 'stopped' };

/** Inputs to the FSM. */
export type FsmEvent =
  | { type: 'start' }
  | { type: 'stop'; subcode?: number }
  | { type: 'tcpConnected' }
  | { type: 'tcpFailed'; error: string }
  | { type: 'message'; msg: Message }
  | { type: 'decodeError'; error: BgpError }
  /** The shell cannot keep up with the peer (it stopped reading our output): Cease 6/8. */
  | { type: 'outOfResources'; reason: string }
  | { type: 'timerExpired'; timer: Timer };

/** Outputs the shell executes, in order. */
export type FsmAction =
  | { type: 'connect' }
  | { type: 'send'; msg: Message }
  | { type: 'disconnect' }
  | { type: 'startTimer'; timer: Timer; ms: number }
  | { type: 'stopTimer'; timer: Timer }
  | { type: 'established'; negotiated: Negotiated }
  | { type: 'down'; reason: DownReason; wasEstablished: boolean }
  | { type: 'update'; msg: UpdateMessage }
  | { type: 'routeRefresh'; family: Family }
  | { type: 'notificationReceived'; code: number; subcode: number; data: Buffer; text: string };

/** The result of one step. */
export interface StepResult {
  state: FsmState;
  actions: FsmAction[];
}

/** A fresh FSM in Idle; `seed` comes from the shell's injected random source. */
export function initialFsm(config: FsmConfig, seed: number): FsmState {
  return { state: SessionState.Idle, config, running: false, failures: 0, rng: seed >>> 0 || 0x9e3779b9, restarting: true };
}

function nextRandom(rng: number): [number, number] {
  let x = rng;
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  return [x, x / 0x100000000];
}

/** Backoff before attempt number failures+1: 0 for the first, then initial * 2^(n-1) capped, jittered. */
export function backoffMs(config: FsmConfig, failures: number, unit: number): number {
  if (failures <= 0) return 0;
  const raw = Math.min(config.backoff.maxMs, config.backoff.initialMs * 2 ** Math.min(failures - 1, 30));
  // RFC 4271 §10: jitter by a random factor in 0.75..1 so peers do not synchronise.
  return Math.round(raw * (0.75 + 0.25 * unit));
}

/** Our OPEN (RFC 4271 §4.2 with RFC 5492 capabilities). */
export function buildOpen(config: FsmConfig, restarting: boolean): OpenMessage {
  const capabilities: Capability[] = config.families.map((f) => ({ kind: 'multiprotocol', afi: f.afi, safi: f.safi }));
  capabilities.push({ kind: 'routeRefresh' });
  if (config.extendedNextHop) {
    capabilities.push({ kind: 'extendedNextHop', tuples: [{ afi: Afi.Ipv4, safi: Safi.Unicast, nextHopAfi: Afi.Ipv6 }] });
  }
  if (config.gracefulRestart) {
    capabilities.push({
      kind: 'gracefulRestart',
      restarting,
      notification: false,
      restartTimeSec: Math.min(4095, config.gracefulRestart.restartTimeSec),
      // Forwarding is preserved: the node keeps forwarding to the service while we restart.
      families: config.families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingPreserved: true })),
    });
  }
  capabilities.push({ kind: 'fourOctetAs', asn: config.localAsn });
  return {
    type: MessageType.Open,
    version: BGP_VERSION,
    // RFC 6793 §4.1: a 4-octet AS puts AS_TRANS in the 2-octet field.
    myAs: config.localAsn > 0xffff ? AS_TRANS : config.localAsn,
    holdTimeSec: config.holdTimeSec,
    bgpIdentifier: config.routerId,
    capabilities,
  };
}

function openError(subcode: number, message: string, data?: Buffer): BgpError {
  return new BgpError(NotificationCode.OpenMessage, subcode, message, data);
}

/** Check the peer's OPEN (RFC 4271 §6.2, RFC 6793, RFC 6286) and negotiate; a BgpError names the NOTIFICATION. */
export function negotiate(config: FsmConfig, open: OpenMessage): Negotiated | BgpError {
  if (open.version !== BGP_VERSION) {
    // Data: the largest version we support (RFC 4271 §6.2).
    return openError(OpenSubcode.UnsupportedVersionNumber, `unsupported BGP version ${open.version}`, Buffer.from([0, BGP_VERSION]));
  }
  const four = open.capabilities.find((c) => c.kind === 'fourOctetAs');
  // RFC 6793 §4.1: the 4-octet capability carries the real AS; My AS may be AS_TRANS.
  const peerAsn = four ? four.asn : open.myAs;
  const badAs = checkPeerAs(config.localAsn, config.peerAsn, peerAsn);
  if (badAs) return badAs;
  const ibgp = peerAsn === config.localAsn;
  if (open.bgpIdentifier === '0.0.0.0' || (ibgp && open.bgpIdentifier === config.routerId)) {
    return openError(OpenSubcode.BadBgpIdentifier, `bad BGP identifier ${open.bgpIdentifier}`);
  }
  if (open.holdTimeSec === 1 || open.holdTimeSec === 2) {
    return openError(OpenSubcode.UnacceptableHoldTime, `unacceptable hold time ${open.holdTimeSec}`);
  }
  if (!four && config.localAsn > 0xffff) {
    // RFC 5492 §3: we require the 4-octet AS capability; data is the capability we need.
    const data = Buffer.alloc(6);
    data[0] = 65;
    data[1] = 4;
    data.writeUInt32BE(config.localAsn, 2);
    return openError(OpenSubcode.UnsupportedCapability, `peer lacks the 4-octet AS capability our AS ${config.localAsn} needs`, data);
  }
  const mp = open.capabilities.filter((c) => c.kind === 'multiprotocol');
  // RFC 4760 §8 / RFC 5492: a peer without MP capabilities speaks IPv4 unicast only.
  const peerFamilies = mp.length > 0 ? mp : [{ afi: 1, safi: 1 }];
  const families = config.families.filter((f) => peerFamilies.some((p) => p.afi === f.afi && p.safi === f.safi));
  const holdTimeSec = Math.min(config.holdTimeSec, open.holdTimeSec);
  const third = Math.floor((holdTimeSec * 1000) / 3);
  const keepaliveMs = holdTimeSec === 0 ? 0 : Math.min(third, config.keepaliveTimeSec !== undefined ? config.keepaliveTimeSec * 1000 : third);
  const gr = open.capabilities.find((c) => c.kind === 'gracefulRestart');
  // RFC 8950 §3: IPv6 next hops for IPv4 NLRI only when both sides listed that tuple.
  const enhe =
    config.extendedNextHop === true &&
    families.some((f) => f.afi === Afi.Ipv4 && f.safi === Safi.Unicast) &&
    open.capabilities.some((c) => c.kind === 'extendedNextHop' && c.tuples.some((x) => x.afi === Afi.Ipv4 && x.safi === Safi.Unicast && x.nextHopAfi === Afi.Ipv6));
  return {
    holdTimeSec,
    keepaliveMs: Math.max(keepaliveMs, holdTimeSec === 0 ? 0 : 1000),
    fourOctetAs: four !== undefined,
    families,
    peerAsn,
    peerBgpIdentifier: open.bgpIdentifier,
    peerRouteRefresh: open.capabilities.some((c) => c.kind === 'routeRefresh'),
    ...(enhe ? { extendedNextHopIpv4: true as const } : {}),
    ...(gr ? { peerGracefulRestart: { restartTimeSec: gr.restartTimeSec, restarting: gr.restarting } } : {}),
  };
}

function notification(code: number, subcode: number, data: Buffer = Buffer.alloc(0)): NotificationMessage {
  return { type: MessageType.Notification, code, subcode, data };
}

const allTimers: Timer[] = [Timer.ConnectRetry, Timer.Hold, Timer.Keepalive, Timer.IdleHold, Timer.Stable];

/**
 * Tear the connection down and schedule the next attempt. `sent` is the NOTIFICATION to send
 * first, if any (RFC 4271 §8.2.2: every error path reports itself).
 */
function fail(s: FsmState, reason: DownReason, sent?: NotificationMessage): StepResult {
  const actions: FsmAction[] = [];
  if (sent) actions.push({ type: 'send', msg: sent });
  actions.push({ type: 'disconnect' });
  for (const timer of allTimers) actions.push({ type: 'stopTimer', timer });
  const wasEstablished = s.state === SessionState.Established;
  actions.push({ type: 'down', reason, wasEstablished });
  const failures = s.failures + 1;
  const [rng, unit] = nextRandom(s.rng);
  const next: FsmState = { ...s, state: SessionState.Idle, failures, rng, negotiated: undefined };
  if (s.running) actions.push({ type: 'startTimer', timer: Timer.IdleHold, ms: backoffMs(s.config, failures, unit) });
  return { state: next, actions };
}

function sendError(s: FsmState, err: BgpError): StepResult {
  const text = describeNotification(err.code, err.subcode);
  return fail(s, { kind: 'notificationSent', code: err.code, subcode: err.subcode, text }, notification(err.code, err.subcode, err.data));
}

function fsmError(s: FsmState): StepResult {
  const subcode =
    s.state === SessionState.OpenSent
      ? FsmSubcode.UnexpectedInOpenSent
      : s.state === SessionState.OpenConfirm
        ? FsmSubcode.UnexpectedInOpenConfirm
        : FsmSubcode.UnexpectedInEstablished;
  return sendError(s, new BgpError(NotificationCode.Fsm, subcode, `unexpected message in ${s.state}`));
}

function keepaliveTimer(s: FsmState): [FsmState, FsmAction | undefined] {
  const ms = s.negotiated?.keepaliveMs ?? 0;
  if (ms === 0) return [s, undefined];
  const [rng, unit] = nextRandom(s.rng);
  return [{ ...s, rng }, { type: 'startTimer', timer: Timer.Keepalive, ms: Math.round(ms * (0.75 + 0.25 * unit)) }];
}

function holdTimer(s: FsmState): FsmAction {
  const sec = s.negotiated?.holdTimeSec ?? 0;
  return sec === 0 ? { type: 'stopTimer', timer: Timer.Hold } : { type: 'startTimer', timer: Timer.Hold, ms: sec * 1000 };
}

function connect(s: FsmState): StepResult {
  return {
    state: { ...s, state: SessionState.Connect, running: true },
    actions: [
      { type: 'stopTimer', timer: Timer.IdleHold },
      { type: 'connect' },
      { type: 'startTimer', timer: Timer.ConnectRetry, ms: s.config.connectTimeSec * 1000 },
    ],
  };
}

function onMessage(s: FsmState, msg: Message): StepResult {
  if (msg.type === MessageType.Notification) {
    const text = describeNotification(msg.code, msg.subcode);
    const r = fail(s, { kind: 'notificationReceived', code: msg.code, subcode: msg.subcode, text });
    // RFC 4271 §6.4: a NOTIFICATION closes the connection; we log it with its meaning.
    r.actions.unshift({ type: 'notificationReceived', code: msg.code, subcode: msg.subcode, data: msg.data, text });
    return r;
  }
  switch (s.state) {
    case SessionState.OpenSent: {
      if (msg.type !== MessageType.Open) return fsmError(s);
      const neg = negotiate(s.config, msg);
      if (neg instanceof BgpError) return sendError(s, neg);
      const next: FsmState = { ...s, state: SessionState.OpenConfirm, negotiated: neg };
      const [withRng, ka] = keepaliveTimer(next);
      const actions: FsmAction[] = [{ type: 'send', msg: { type: MessageType.Keepalive } }, holdTimer(next)];
      if (ka) actions.push(ka);
      return { state: withRng, actions };
    }
    case SessionState.OpenConfirm: {
      if (msg.type !== MessageType.Keepalive) return fsmError(s);
      // The failure count survives Established: only the Stable timer clears it.
      const next: FsmState = { ...s, state: SessionState.Established, restarting: false };
      const stable: FsmAction = { type: 'startTimer', timer: Timer.Stable, ms: s.config.backoff.stableMs ?? DEFAULT_STABLE_MS };
      return { state: next, actions: [holdTimer(next), stable, { type: 'established', negotiated: s.negotiated! }] };
    }
    case SessionState.Established: {
      const actions: FsmAction[] = [holdTimer(s)];
      switch (msg.type) {
        case MessageType.Keepalive:
          break;
        case MessageType.Update:
          actions.push({ type: 'update', msg });
          break;
        case MessageType.RouteRefresh: {
          // RFC 7313 §4-5: only subtype 0 asks for a resend. BoRR/EoRR (1, 2) mark the peer's own
          // resend to us (and we did not even offer Enhanced Route Refresh); other subtypes MUST be
          // ignored. RFC 2918 §4: a request for a family we did not negotiate is ignored too.
          if (msg.subtype !== RouteRefreshSubtype.Request) break;
          const family = s.negotiated!.families.find((f) => f.afi === msg.afi && f.safi === msg.safi);
          if (family) actions.push({ type: 'routeRefresh', family });
          break;
        }
        case MessageType.Open:
          return fsmError(s);
      }
      return { state: s, actions };
    }
    default:
      // Idle/Connect: a message from a connection we already dropped; nothing to do.
      return { state: s, actions: [] };
  }
}

const connected: readonly SessionState[] = [SessionState.OpenSent, SessionState.OpenConfirm, SessionState.Established];

/** Advance the FSM by one event. */
export function step(s: FsmState, ev: FsmEvent): StepResult {
  switch (ev.type) {
    case 'start':
      return s.state === SessionState.Idle ? connect({ ...s, failures: 0 }) : { state: { ...s, running: true }, actions: [] };
    case 'stop': {
      const stopped: FsmState = { ...s, running: false };
      if (s.state === SessionState.Idle) {
        return { state: stopped, actions: [{ type: 'stopTimer', timer: Timer.IdleHold }] };
      }
      // RFC 4486: an administrative stop is Cease (6/2 shutdown, 6/6 config change, ...).
      const subcode = ev.subcode ?? CeaseSubcode.AdministrativeShutdown;
      const sent = connected.includes(s.state) ? notification(NotificationCode.Cease, subcode) : undefined;
      const r = fail(stopped, { kind: 'stopped' }, sent);
      return { state: { ...r.state, failures: 0 }, actions: r.actions };
    }
    case 'tcpConnected':
      if (s.state !== SessionState.Connect) return { state: s, actions: [{ type: 'disconnect' }] };
      return {
        state: { ...s, state: SessionState.OpenSent },
        actions: [
          { type: 'stopTimer', timer: Timer.ConnectRetry },
          { type: 'send', msg: buildOpen(s.config, s.restarting) },
          { type: 'startTimer', timer: Timer.Hold, ms: OPEN_HOLD_TIME_SEC * 1000 },
        ],
      };
    case 'tcpFailed':
      if (s.state === SessionState.Idle) return { state: s, actions: [] };
      return fail(s, { kind: 'tcpFailed', error: ev.error });
    case 'message':
      if (!connected.includes(s.state)) return { state: s, actions: [] };
      return onMessage(s, ev.msg);
    case 'decodeError':
      if (!connected.includes(s.state)) return { state: s, actions: [] };
      if (ev.error.action !== AttrErrorAction.SessionReset) return { state: s, actions: [] };
      return sendError(s, ev.error);
    case 'outOfResources':
      if (!connected.includes(s.state)) return { state: s, actions: [] };
      // RFC 4486 §4: Cease / Out of Resources, the subcode for "cannot keep this session".
      return sendError(s, new BgpError(NotificationCode.Cease, CeaseSubcode.OutOfResources, ev.reason));
    case 'timerExpired':
      return onTimer(s, ev.timer);
  }
}

function onTimer(s: FsmState, timer: Timer): StepResult {
  switch (timer) {
    case Timer.IdleHold:
      return s.state === SessionState.Idle && s.running ? connect(s) : { state: s, actions: [] };
    case Timer.Stable:
      return s.state === SessionState.Established ? { state: { ...s, failures: 0 }, actions: [] } : { state: s, actions: [] };
    case Timer.ConnectRetry:
      return s.state === SessionState.Connect ? fail(s, { kind: 'connectTimeout' }) : { state: s, actions: [] };
    case Timer.Hold:
      if (!connected.includes(s.state)) return { state: s, actions: [] };
      // RFC 4271 §6.5: hold timer expiry is NOTIFICATION 4/0.
      return sendError(s, new BgpError(NotificationCode.HoldTimerExpired, 0, 'hold timer expired'));
    case Timer.Keepalive: {
      if (s.state !== SessionState.OpenConfirm && s.state !== SessionState.Established) return { state: s, actions: [] };
      const [next, ka] = keepaliveTimer(s);
      const actions: FsmAction[] = [{ type: 'send', msg: { type: MessageType.Keepalive } }];
      if (ka) actions.push(ka);
      return { state: next, actions };
    }
  }
}
