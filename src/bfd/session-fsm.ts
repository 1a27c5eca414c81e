/**
 * One BFD session in asynchronous mode (RFC 5880) as a pure step function:
 * `step(state, event) -> { state, actions }`. Packets arrive already decoded and demultiplexed;
 * timer expiry arrives as an event; the shell (bfd-session.ts) sends what `send` actions carry
 * and runs the two timers. Randomness for the transmit jitter is an xorshift state seeded by
 * the shell, so a step is deterministic.
 *
 * Not implemented: Demand mode on our side (we never set D, but we honour a peer that does,
 * §6.8.7), the Echo function (see docs/bfd.md), authentication (decode discards A-bit packets).
 */
import { BfdState, Diag } from './codec';
import type { ControlPacket } from './codec';

/** The session's two timers; the shell runs at most one of each. */
export const BfdTimer = { Transmit: 'transmit', Detect: 'detect' } as const;
export type BfdTimer = (typeof BfdTimer)[keyof typeof BfdTimer];

/** RFC 5880 §6.8.3: while the session is not Up, DesiredMinTxInterval is at least one second. */
export const SLOW_TX_US = 1_000_000;

/** What the session is configured with (a BFDProfile's timing fields, in milliseconds). */
export interface BfdSessionParams {
  /** bfd.DesiredMinTxInterval once Up (BFDProfile transmitInterval). */
  desiredMinTxMs: number;
  /** bfd.RequiredMinRxInterval (BFDProfile receiveInterval). */
  requiredMinRxMs: number;
  /** bfd.DetectMult (BFDProfile detectMultiplier). */
  detectMult: number;
  /** RFC 5880 §6.1 Passive role: send nothing until the peer has been heard (BFDProfile passiveMode). */
  passive: boolean;
}

/** FSM state: plain data, replaced on every step. Field names follow RFC 5880 §6.8.1. */
export interface BfdFsmState {
  params: BfdSessionParams;
  /** Started and not stopped. */
  running: boolean;
  sessionState: BfdState;
  remoteSessionState: BfdState;
  localDiscr: number;
  /** 0 until the peer is heard, and again after a Detection Time of silence (§6.8.1). */
  remoteDiscr: number;
  localDiag: number;
  /** Advertised in our packets. */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  /**
   * In force for our transmit interval and our Detection Time. They trail the advertised values
   * during a Poll Sequence: a larger TX interval or a smaller RX interval waits for the Final
   * (§6.8.3), so the peer never expects packets faster than we send them.
   */
  txInForceUs: number;
  rxInForceUs: number;
  /** bfd.RemoteMinRxInterval; 1 until the first packet (§6.8.1). */
  remoteMinRxUs: number;
  /** From the last packet; 0 before any (no Detection Time can be computed yet). */
  remoteDesiredMinTxUs: number;
  remoteDetectMult: number;
  remoteDemandMode: boolean;
  /** A Poll Sequence is in progress: every packet carries P until a Final arrives (§6.5). */
  polling: boolean;
  /** The periodic transmit timer is armed. */
  transmitting: boolean;
  /** xorshift32 state for the transmit jitter. */
  rng: number;
}

/** Inputs to the FSM. */
export type BfdEvent =
  | { type: 'start' }
  /** Administrative down (§6.8.16): AdminDown with diag 7; packets keep flowing. */
  | { type: 'adminDown' }
  | { type: 'adminUp' }
  /** A decoded packet that the shell selected for this session (§6.8.6 checks already done). */
  | { type: 'packet'; packet: ControlPacket }
  | { type: 'setParams'; params: BfdSessionParams }
  | { type: 'timerExpired'; timer: BfdTimer };

/** Outputs the shell executes, in order. */
export type BfdAction =
  | { type: 'send'; packet: ControlPacket }
  | { type: 'startTimer'; timer: BfdTimer; ms: number }
  | { type: 'stopTimer'; timer: BfdTimer }
  | { type: 'stateChange'; from: BfdState; to: BfdState; diag: number; remoteState: BfdState };

/** The result of one step. */
export interface BfdStepResult {
  state: BfdFsmState;
  actions: BfdAction[];
}

/** A session in Down; `localDiscr` is nonzero and unique on the system, `seed` seeds the jitter. */
export function initialBfdFsm(params: BfdSessionParams, localDiscr: number, seed: number): BfdFsmState {
  const desiredMinTxUs = Math.max(params.desiredMinTxMs * 1000, SLOW_TX_US);
  const requiredMinRxUs = params.requiredMinRxMs * 1000;
  return {
    params,
    running: false,
    sessionState: BfdState.Down,
    remoteSessionState: BfdState.Down,
    localDiscr: localDiscr >>> 0,
    remoteDiscr: 0,
    localDiag: Diag.None,
    desiredMinTxUs,
    requiredMinRxUs,
    txInForceUs: desiredMinTxUs,
    rxInForceUs: requiredMinRxUs,
    remoteMinRxUs: 1,
    remoteDesiredMinTxUs: 0,
    remoteDetectMult: 0,
    remoteDemandMode: false,
    polling: false,
    transmitting: false,
    rng: seed >>> 0 || 0x9e3779b9,
  };
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

/** §6.8.2/§6.8.7: the negotiated transmit interval, before jitter. */
export function transmitIntervalUs(s: BfdFsmState): number {
  return Math.max(s.txInForceUs, s.remoteMinRxUs);
}

/** §6.8.4 (asynchronous mode): remote Detect Mult x max(our RequiredMinRx, their DesiredMinTx). */
export function detectionTimeUs(s: BfdFsmState): number {
  return s.remoteDetectMult * Math.max(s.rxInForceUs, s.remoteDesiredMinTxUs);
}

/**
 * §6.8.7 jitter: each interval is reduced by a random 0-25 %; with a Detect Mult of 1 it lies
 * within 75-90 % of the interval, so one late packet cannot expire the peer's timer.
 */
export function jitteredMs(intervalUs: number, detectMult: number, unit: number): number {
  const factor = detectMult === 1 ? 0.75 + 0.15 * unit : 0.75 + 0.25 * unit;
  return Math.max(1, Math.floor((intervalUs * factor) / 1000));
}

/** Our next packet. */
function buildPacket(s: BfdFsmState, final: boolean): ControlPacket {
  return {
    diag: s.localDiag,
    state: s.sessionState,
    // P and F never go together (§4.1): a Final answer waits for the next periodic packet's P.
    poll: s.polling && !final,
    final,
    controlPlaneIndependent: false,
    demand: false,
    multipoint: false,
    detectMult: s.params.detectMult,
    myDiscriminator: s.localDiscr,
    yourDiscriminator: s.remoteDiscr,
    desiredMinTxUs: s.desiredMinTxUs,
    requiredMinRxUs: s.requiredMinRxUs,
    // We run no Echo function, so we ask for none (§6.8.9: zero means "not supported").
    requiredMinEchoRxUs: 0,
  };
}

/** §6.8.7: may we send at all (passive role waiting for the peer, or stopped)? */
function maySend(s: BfdFsmState): boolean {
  return s.running && !(s.params.passive && s.remoteDiscr === 0);
}

/** §6.8.7: may we send periodically (a peer asking for RX 0 or in Demand mode wants none)? */
function mayTransmitPeriodically(s: BfdFsmState): boolean {
  if (!maySend(s) || s.remoteMinRxUs === 0) return false;
  const demandActive = s.remoteDemandMode && s.sessionState === BfdState.Up && s.remoteSessionState === BfdState.Up;
  return !demandActive || s.polling;
}

/** Send a periodic packet now and re-arm the transmit timer (or stop it when we must be quiet). */
function transmit(s: BfdFsmState, actions: BfdAction[]): BfdFsmState {
  if (!mayTransmitPeriodically(s)) {
    if (s.transmitting) actions.push({ type: 'stopTimer', timer: BfdTimer.Transmit });
    return { ...s, transmitting: false };
  }
  actions.push({ type: 'send', packet: buildPacket(s, false) });
  const [rng, unit] = nextRandom(s.rng);
  actions.push({ type: 'startTimer', timer: BfdTimer.Transmit, ms: jitteredMs(transmitIntervalUs(s), s.params.detectMult, unit) });
  return { ...s, rng, transmitting: true };
}

/**
 * The negotiated interval just got shorter (the peer lowered its RequiredMinRxInterval, §6.8.7):
 * re-arm the transmit timer for it. A timer armed for the old, longer interval would leave the
 * peer without packets for longer than the Detection Time it now computes. FRR's bfdd does this
 * on reaching Up: it polls from 1 s down to 200 ms, and a timer still counting 750-1000 ms from
 * our Up outlived its 600 ms Detection Time every time.
 */
function rearmTransmit(s: BfdFsmState, actions: BfdAction[]): BfdFsmState {
  const [rng, unit] = nextRandom(s.rng);
  actions.push({ type: 'startTimer', timer: BfdTimer.Transmit, ms: jitteredMs(transmitIntervalUs(s), s.params.detectMult, unit) });
  return { ...s, rng };
}

function desiredTxFor(params: BfdSessionParams, state: BfdState): number {
  const configured = params.desiredMinTxMs * 1000;
  return state === BfdState.Up ? configured : Math.max(configured, SLOW_TX_US);
}

/**
 * Put new advertised intervals in place. While Up a change starts a Poll Sequence and only the
 * safe direction takes effect at once (§6.8.3); otherwise everything applies immediately.
 */
function advertise(s: BfdFsmState, desiredMinTxUs: number, requiredMinRxUs: number): BfdFsmState {
  if (desiredMinTxUs === s.desiredMinTxUs && requiredMinRxUs === s.requiredMinRxUs) return s;
  if (s.sessionState !== BfdState.Up) {
    return { ...s, desiredMinTxUs, requiredMinRxUs, txInForceUs: desiredMinTxUs, rxInForceUs: requiredMinRxUs, polling: false };
  }
  return {
    ...s,
    desiredMinTxUs,
    requiredMinRxUs,
    txInForceUs: Math.min(s.txInForceUs, desiredMinTxUs),
    rxInForceUs: Math.max(s.rxInForceUs, requiredMinRxUs),
    polling: true,
  };
}

/** Enter `to` with `diag`, apply the slow-start rule, report, and tell the peer at once. */
function enter(s: BfdFsmState, to: BfdState, diag: number, actions: BfdAction[]): BfdFsmState {
  const from = s.sessionState;
  let next: BfdFsmState = { ...s, sessionState: to, localDiag: diag };
  if (to !== BfdState.Up) next = { ...next, polling: false };
  // Leaving Up drops to the 1 s rate at once; reaching Up polls the configured rate in (§6.8.3).
  next = advertise(next, desiredTxFor(next.params, to), next.requiredMinRxUs);
  actions.push({ type: 'stateChange', from, to, diag, remoteState: next.remoteSessionState });
  // AdminDown ignores the peer (§6.8.6), so there is nothing to detect.
  if (to === BfdState.AdminDown) actions.push({ type: 'stopTimer', timer: BfdTimer.Detect });
  // A state change goes out immediately rather than at the next tick (as FRR's bfdd does on Up
  // and Down): the three-way handshake then takes round trips, not transmit intervals.
  return maySend(next) ? transmit(next, actions) : next;
}

function onPacket(s0: BfdFsmState, p: ControlPacket): BfdStepResult {
  const actions: BfdAction[] = [];
  // §6.8.6, in order: remember what the peer said about itself.
  let s: BfdFsmState = {
    ...s0,
    remoteDiscr: p.myDiscriminator,
    remoteSessionState: p.state,
    remoteDemandMode: p.demand,
    remoteMinRxUs: p.requiredMinRxUs,
    remoteDesiredMinTxUs: p.desiredMinTxUs,
    remoteDetectMult: p.detectMult,
  };
  if (p.final && s.polling) {
    // §6.5: the Final ends the Poll Sequence; the advertised values are now in force.
    s = { ...s, polling: false, txInForceUs: s.desiredMinTxUs, rxInForceUs: s.requiredMinRxUs };
  }
  if (s.sessionState === BfdState.AdminDown) return { state: s, actions };

  if (p.state === BfdState.AdminDown) {
    if (s.sessionState !== BfdState.Down) s = enter(s, BfdState.Down, Diag.NeighborSignaledSessionDown, actions);
  } else if (s.sessionState === BfdState.Down) {
    if (p.state === BfdState.Down) s = enter(s, BfdState.Init, s.localDiag, actions);
    else if (p.state === BfdState.Init) s = enter(s, BfdState.Up, Diag.None, actions);
  } else if (s.sessionState === BfdState.Init) {
    if (p.state === BfdState.Init || p.state === BfdState.Up) s = enter(s, BfdState.Up, Diag.None, actions);
  } else if (p.state === BfdState.Down) {
    s = enter(s, BfdState.Down, Diag.NeighborSignaledSessionDown, actions);
  }

  if (p.poll) {
    // §6.8.7: a Final goes out at once, whatever the transmit timer says.
    actions.push({ type: 'send', packet: buildPacket(s, true) });
  }
  // The packet counts for the Detection Time (§6.8.4), restarted on every accepted packet.
  actions.push({ type: 'startTimer', timer: BfdTimer.Detect, ms: Math.max(1, Math.ceil(detectionTimeUs(s) / 1000)) });
  // A passive session heard for the first time, a peer leaving Demand mode or raising its RX
  // from 0: start the periodic transmission that was held back.
  if (!s.transmitting && mayTransmitPeriodically(s)) s = transmit(s, actions);
  else if (s.transmitting && transmitIntervalUs(s) < transmitIntervalUs(s0)) s = rearmTransmit(s, actions);
  return { state: s, actions };
}

function onDetectExpired(s0: BfdFsmState): BfdStepResult {
  const actions: BfdAction[] = [];
  // §6.8.1: after a Detection Time of silence the peer's discriminator is forgotten, so a
  // restarted peer with a new discriminator is found again by address (§6.8.6).
  let s: BfdFsmState = { ...s0, remoteDiscr: 0, remoteSessionState: BfdState.Down, remoteDemandMode: false, remoteDesiredMinTxUs: 0, remoteDetectMult: 0 };
  if (s.sessionState === BfdState.Init || s.sessionState === BfdState.Up) {
    s = enter(s, BfdState.Down, Diag.ControlDetectionTimeExpired, actions);
  }
  if (s.transmitting && !mayTransmitPeriodically(s)) {
    actions.push({ type: 'stopTimer', timer: BfdTimer.Transmit });
    s = { ...s, transmitting: false };
  }
  return { state: s, actions };
}

/** Advance the FSM by one event. */
export function step(s: BfdFsmState, ev: BfdEvent): BfdStepResult {
  switch (ev.type) {
    case 'start': {
      if (s.running) return { state: s, actions: [] };
      const actions: BfdAction[] = [];
      const next = transmit({ ...s, running: true }, actions);
      return { state: next, actions };
    }
    case 'adminDown': {
      if (!s.running || s.sessionState === BfdState.AdminDown) return { state: s, actions: [] };
      const actions: BfdAction[] = [];
      return { state: enter(s, BfdState.AdminDown, Diag.AdministrativelyDown, actions), actions };
    }
    case 'adminUp': {
      if (!s.running || s.sessionState !== BfdState.AdminDown) return { state: s, actions: [] };
      const actions: BfdAction[] = [];
      return { state: enter(s, BfdState.Down, Diag.None, actions), actions };
    }
    case 'packet':
      if (!s.running) return { state: s, actions: [] };
      return onPacket(s, ev.packet);
    case 'setParams': {
      const actions: BfdAction[] = [];
      let next: BfdFsmState = { ...s, params: ev.params };
      next = advertise(next, desiredTxFor(ev.params, next.sessionState), ev.params.requiredMinRxMs * 1000);
      // A new Poll Sequence or a passive session turned active is announced at once.
      if ((next.polling && !s.polling) || (!next.transmitting && mayTransmitPeriodically(next))) next = transmit(next, actions);
      return { state: next, actions };
    }
    case 'timerExpired':
      if (ev.timer === BfdTimer.Detect) return onDetectExpired(s);
      if (!s.running) return { state: { ...s, transmitting: false }, actions: [] };
      {
        const actions: BfdAction[] = [];
        const next = transmit(s, actions);
        return { state: next, actions };
      }
  }
}
