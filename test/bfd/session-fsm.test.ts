import t from 'tap';
import { BfdState, Diag } from '../../src/bfd/codec';
import type { ControlPacket } from '../../src/bfd/codec';
import { BfdTimer, detectionTimeUs, initialBfdFsm, jitteredMs, SLOW_TX_US, step, transmitIntervalUs } from '../../src/bfd/session-fsm';
import type { BfdAction, BfdFsmState, BfdSessionParams } from '../../src/bfd/session-fsm';
import { path, Sim } from '../fixtures/bfd/sim';
import { controlPacket } from '../fixtures/bfd/packets';

const P300: BfdSessionParams = { desiredMinTxMs: 300, requiredMinRxMs: 300, detectMult: 3, passive: false };

/** Two active sessions brought Up (A starts first), with the Poll Sequences settled. */
function upPair(a: BfdSessionParams = P300, b: BfdSessionParams = P300): ReturnType<typeof pair> {
  const p = pair(a, b);
  p.sim.fire(p.a, { type: 'start' });
  p.sim.advance(10);
  p.sim.fire(p.b, { type: 'start' });
  p.sim.runUntil(() => p.a.fsm.sessionState === BfdState.Up && p.b.fsm.sessionState === BfdState.Up, 5000, 'both Up');
  p.sim.runUntil(() => !p.a.fsm.polling && !p.b.fsm.polling, 5000, 'polls settled');
  return p;
}
function pair(a: BfdSessionParams, b: BfdSessionParams) {
  const sim = new Sim();
  return { sim, a: sim.add('A', a, 0x0a0a0a0a), b: sim.add('B', b, 0x0b0b0b0b) };
}

const peerPacket = (over: Partial<ControlPacket> = {}): ControlPacket =>
  controlPacket({ myDiscriminator: 0x77, desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, ...over });
const sends = (actions: BfdAction[]): ControlPacket[] => actions.flatMap((a) => (a.type === 'send' ? [a.packet] : []));
const timerMs = (actions: BfdAction[], timer: string): number | undefined => {
  const a = actions.find((x) => x.type === 'startTimer' && x.timer === timer);
  return a?.type === 'startTimer' ? a.ms : undefined;
};

t.test('three-way handshake: Down -> Init -> Up on the side that hears Down first', async (t) => {
  // A starts alone (its first Down is lost: B is not running), B starts 10 ms later and its
  // first Down reaches A, which answers Init; B, still Down, hears Init and goes Up; A follows.
  const { sim, a, b } = upPair();
  t.equal(path(a), 'Down->Init Init->Up', 'A heard B\'s Down, went Init, then Up on B\'s Up');
  t.equal(path(b), 'Down->Up', 'B was Down and heard Init: straight to Up (RFC 5880 §6.8.6)');
  t.equal(a.fsm.remoteDiscr, 0x0b0b0b0b, 'A learned B\'s discriminator');
  t.equal(b.fsm.remoteDiscr, 0x0a0a0a0a);
  const init = a.sent.find((x) => x.packet.state === BfdState.Init)!;
  t.equal(init.at, a.changes[0]!.at, 'the Init went out the moment A changed state, not at its next tick');
  t.equal(init.packet.yourDiscriminator, 0x0b0b0b0b);
  t.ok(a.changes[1]!.at - b.sent[0]!.at <= 3 * sim.latencyMs, 'the handshake took three one-way trips');
});

t.test('slow start: 1 s while not Up, the configured rate after the Poll Sequence', async (t) => {
  const s = initialBfdFsm(P300, 1, 1);
  t.equal(s.desiredMinTxUs, SLOW_TX_US, 'Down advertises at least 1 s (RFC 5880 §6.8.3)');
  t.equal(s.requiredMinRxUs, 300_000, 'RX is advertised as configured');
  const { a, b } = upPair();
  const upPoll = a.sent.find((x) => x.packet.state === BfdState.Up)!.packet;
  t.equal(upPoll.poll, true, 'the first Up packet starts a Poll Sequence');
  t.equal(upPoll.desiredMinTxUs, 300_000, 'with the configured 300 ms');
  t.ok(b.sent.some((x) => x.packet.final), 'B answered with a Final');
  t.equal(a.fsm.txInForceUs, 300_000, 'A sends at 300 ms after the Final');
  t.equal(transmitIntervalUs(a.fsm), 300_000);
  t.equal(detectionTimeUs(a.fsm), 900_000, '3 x max(300 ms, 300 ms)');
});

t.test('transmit timer: jitter 0-25 % below the negotiated interval', async (t) => {
  const { sim, a } = upPair();
  const from = a.timerStarts.length;
  sim.advance(20_000);
  const ticks = a.timerStarts.slice(from).filter((x) => x.timer === BfdTimer.Transmit);
  t.ok(ticks.length > 60, `${ticks.length} transmissions in 20 s`);
  t.ok(ticks.every((x) => x.ms >= 225 && x.ms < 300), 'every interval in [225, 300) ms');
  t.ok(new Set(ticks.map((x) => x.ms)).size > 10, 'intervals vary');
  t.equal(jitteredMs(300_000, 3, 0), 225, '75 % at the low end');
  t.equal(jitteredMs(300_000, 3, 0.999999), 299, 'just under 100 % at the high end');
  t.equal(jitteredMs(300_000, 1, 0.999999), 269, 'detect mult 1: at most 90 % (RFC 5880 §6.8.7)');
  t.equal(jitteredMs(300_000, 1, 0), 225, 'detect mult 1: at least 75 %');
});

t.test('detection timeout: Down with diag 1 after detect mult x interval of silence', async (t) => {
  const { sim, a, b } = upPair();
  sim.advance(1000);
  const lastFromB = () => b.sent.at(-1)!.at + sim.latencyMs;
  sim.linkUp = false;
  const cutAt = sim.now;
  const heardAt = lastFromB();
  sim.runUntil(() => a.fsm.sessionState === BfdState.Down, 3000, 'A Down');
  const down = a.changes.at(-1)!;
  t.equal(down.diag, Diag.ControlDetectionTimeExpired, 'diag 1');
  t.equal(down.at - heardAt, 900, 'exactly 900 ms after the last packet heard');
  t.ok(down.at - cutAt <= 900, 'at most 900 ms after the cut');
  t.equal(a.fsm.remoteDiscr, 0, 'the peer\'s discriminator is forgotten (RFC 5880 §6.8.1)');
  t.equal(a.fsm.desiredMinTxUs, SLOW_TX_US, 'back to the 1 s rate');
  t.equal(a.sent.at(-1)!.packet.diag, Diag.ControlDetectionTimeExpired, 'the Down packet carries diag 1');
  sim.runUntil(() => b.fsm.sessionState === BfdState.Down, 3000, 'B Down');
  sim.linkUp = true;
  sim.runUntil(() => a.fsm.sessionState === BfdState.Up && b.fsm.sessionState === BfdState.Up, 5000, 'recovery');
  t.pass('both sides come back Up when the link returns');
});

t.test('detection time uses the remote multiplier and the slower of the two rates', async (t) => {
  const rows: { name: string; ours: BfdSessionParams; theirs: { tx: number; rx: number; mult: number }; txUs: number; detectUs: number }[] = [
    { name: 'equal 300 x 3', ours: P300, theirs: { tx: 300_000, rx: 300_000, mult: 3 }, txUs: 300_000, detectUs: 900_000 },
    { name: 'peer sends slower', ours: P300, theirs: { tx: 1_000_000, rx: 300_000, mult: 3 }, txUs: 300_000, detectUs: 3_000_000 },
    { name: 'we receive slower', ours: { ...P300, requiredMinRxMs: 500 }, theirs: { tx: 300_000, rx: 300_000, mult: 3 }, txUs: 300_000, detectUs: 1_500_000 },
    { name: 'peer wants fewer packets', ours: P300, theirs: { tx: 300_000, rx: 2_000_000, mult: 3 }, txUs: 2_000_000, detectUs: 900_000 },
    { name: 'remote multiplier, not ours', ours: { ...P300, detectMult: 10 }, theirs: { tx: 300_000, rx: 300_000, mult: 5 }, txUs: 300_000, detectUs: 1_500_000 },
    { name: 'we send slower than they accept', ours: { ...P300, desiredMinTxMs: 600 }, theirs: { tx: 50_000, rx: 10_000, mult: 2 }, txUs: 600_000, detectUs: 600_000 },
  ];
  for (const r of rows) {
    // Up on both sides, then one packet with the peer's timing.
    let s = step(initialBfdFsm(r.ours, 1, 9), { type: 'start' }).state;
    s = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Init, yourDiscriminator: 1 }) }).state;
    s = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, final: true }) }).state;
    const res = step(s, {
      type: 'packet',
      packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, desiredMinTxUs: r.theirs.tx, requiredMinRxUs: r.theirs.rx, detectMult: r.theirs.mult }),
    });
    t.equal(res.state.sessionState, BfdState.Up, `${r.name}: Up`);
    t.equal(transmitIntervalUs(res.state), r.txUs, `${r.name}: transmit interval`);
    t.equal(detectionTimeUs(res.state), r.detectUs, `${r.name}: detection time`);
    t.equal(timerMs(res.actions, BfdTimer.Detect), r.detectUs / 1000, `${r.name}: detect timer armed`);
  }
});

t.test('peer AdminDown: Down with diag 3, remote state AdminDown reported', async (t) => {
  const { sim, a, b } = upPair();
  sim.fire(b, { type: 'adminDown' });
  t.equal(b.fsm.sessionState, BfdState.AdminDown);
  t.equal(b.sent.at(-1)!.packet.diag, Diag.AdministrativelyDown, 'B tells A with diag 7');
  sim.advance(5);
  const down = a.changes.at(-1)!;
  t.same([down.to, down.diag, down.remoteState], [BfdState.Down, Diag.NeighborSignaledSessionDown, BfdState.AdminDown]);
  sim.advance(5000);
  t.equal(a.fsm.sessionState, BfdState.Down, 'A stays Down while B is AdminDown (RFC 5880 §6.8.6)');
  t.equal(b.fsm.sessionState, BfdState.AdminDown, 'B ignores A while AdminDown');
  sim.fire(b, { type: 'adminUp' });
  sim.runUntil(() => a.fsm.sessionState === BfdState.Up && b.fsm.sessionState === BfdState.Up, 5000, 'back Up after adminUp');
  t.pass('adminUp brings it back');
});

t.test('peer signals Down while Up: Down with diag 3', async (t) => {
  let s = step(initialBfdFsm(P300, 1, 9), { type: 'start' }).state;
  s = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Init, yourDiscriminator: 1 }) }).state;
  t.equal(s.sessionState, BfdState.Up);
  const r = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Down, yourDiscriminator: 1, diag: 1 }) });
  t.same(r.actions.find((x) => x.type === 'stateChange'), { type: 'stateChange', from: BfdState.Up, to: BfdState.Down, diag: Diag.NeighborSignaledSessionDown, remoteState: BfdState.Down });
  t.equal(r.state.remoteDiscr, 0x77, 'the peer is still known: its packets keep coming');
});

t.test('poll/final: a received Poll is answered at once with F and no P', async (t) => {
  let s = step(initialBfdFsm(P300, 1, 9), { type: 'start' }).state;
  s = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Init, yourDiscriminator: 1 }) }).state;
  s = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, final: true }) }).state;
  t.equal(s.polling, false);
  const r = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, poll: true }) });
  const out = sends(r.actions);
  t.equal(out.length, 1, 'one packet, outside the transmit schedule');
  t.same([out[0]!.final, out[0]!.poll, out[0]!.state], [true, false, BfdState.Up]);
});

t.test('a peer lowering its RequiredMinRx re-arms our transmit timer (FRR polling down from 1 s)', async (t) => {
  // FRR's bfdd answers Init at 1 s (not Up yet), then on Up polls its RX down to 200 ms. Our
  // timer, armed on reaching Up for max(200 ms, its 1 s), must follow at once: FRR's Detection
  // Time is now 3 x 200 ms, shorter than the 750-1000 ms still to run.
  const p200: BfdSessionParams = { desiredMinTxMs: 200, requiredMinRxMs: 200, detectMult: 3, passive: false };
  let s = step(initialBfdFsm(p200, 1, 9), { type: 'start' }).state;
  const up = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Init, yourDiscriminator: 1, desiredMinTxUs: 1_000_000, requiredMinRxUs: 1_000_000 }) });
  s = up.state;
  t.equal(s.sessionState, BfdState.Up);
  t.ok(timerMs(up.actions, BfdTimer.Transmit)! >= 750, `armed for the peer's 1 s RX: ${timerMs(up.actions, BfdTimer.Transmit)} ms`);
  const poll = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, poll: true, desiredMinTxUs: 200_000, requiredMinRxUs: 200_000 }) });
  t.same(sends(poll.actions).map((x) => x.final), [true], 'the Final at once');
  const ms = timerMs(poll.actions, BfdTimer.Transmit);
  t.ok(ms !== undefined && ms >= 150 && ms <= 200, `transmit timer re-armed for 200 ms less jitter: ${ms} ms`);
  const same = step(poll.state, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, desiredMinTxUs: 200_000, requiredMinRxUs: 200_000 }) });
  t.equal(timerMs(same.actions, BfdTimer.Transmit), undefined, 'an unchanged interval leaves the timer alone');
});

t.test('poll/final: parameter changes while Up wait for the Final in the unsafe direction', async (t) => {
  const { sim, a, b } = upPair();
  const from = a.sent.length;
  sim.linkUp = false; // hold B's Final back to look at the in-between state
  sim.fire(a, { type: 'setParams', params: { ...P300, desiredMinTxMs: 500, requiredMinRxMs: 100 } });
  t.equal(a.fsm.polling, true, 'a Poll Sequence started');
  const poll = a.sent[from]!.packet;
  t.same([poll.poll, poll.desiredMinTxUs, poll.requiredMinRxUs], [true, 500_000, 100_000], 'sent at once with the new values');
  t.equal(a.fsm.txInForceUs, 300_000, 'a slower TX waits for the Final (RFC 5880 §6.8.3)');
  t.equal(a.fsm.rxInForceUs, 300_000, 'a faster RX keeps the old detection time until the Final');
  sim.advance(600);
  t.ok(a.sent.slice(from).every((x) => x.packet.poll), 'every packet carries P until the Final');
  sim.linkUp = true;
  sim.runUntil(() => !a.fsm.polling, 2000, 'Final received');
  t.equal(a.fsm.txInForceUs, 500_000, 'now 500 ms');
  t.equal(a.fsm.rxInForceUs, 100_000);
  sim.advance(2000);
  t.equal(b.fsm.remoteMinRxUs, 100_000, 'B heard the new RX');
  t.equal(transmitIntervalUs(b.fsm), 300_000, 'B still sends at its own 300 ms');
  t.equal(detectionTimeUs(b.fsm), 1_500_000, 'B detects A with 3 x 500 ms');
  t.equal(detectionTimeUs(a.fsm), 900_000, 'A detects B with 3 x max(100, 300) ms');
  t.equal(a.fsm.sessionState, BfdState.Up);
  t.equal(b.fsm.sessionState, BfdState.Up, 'no session flap during the change');

  const safe = step(a.fsm, { type: 'setParams', params: { ...P300, desiredMinTxMs: 200, requiredMinRxMs: 400 } });
  t.equal(safe.state.txInForceUs, 200_000, 'a faster TX applies at once');
  t.equal(safe.state.rxInForceUs, 400_000, 'a slower RX applies at once');
});

t.test('parameter change while Down applies at once, without a Poll', async (t) => {
  const s = step(initialBfdFsm(P300, 1, 9), { type: 'start' }).state;
  const r = step(s, { type: 'setParams', params: { ...P300, desiredMinTxMs: 2000, requiredMinRxMs: 50 } });
  t.equal(r.state.polling, false);
  t.same([r.state.desiredMinTxUs, r.state.txInForceUs, r.state.rxInForceUs], [2_000_000, 2_000_000, 50_000]);
});

t.test('passive mode: silent until the peer is heard (RFC 5880 §6.1)', async (t) => {
  const { sim, a, b } = pair({ ...P300, passive: true }, P300);
  sim.fire(a, { type: 'start' });
  sim.advance(5000);
  t.equal(a.sent.length, 0, 'a passive session sends nothing on its own');
  t.equal(a.timers.size, 0, 'and runs no timer');
  sim.fire(b, { type: 'start' });
  sim.runUntil(() => a.fsm.sessionState === BfdState.Up && b.fsm.sessionState === BfdState.Up, 5000, 'Up');
  t.equal(a.sent[0]!.packet.state, BfdState.Init, 'A speaks once spoken to');
  sim.linkUp = false;
  sim.runUntil(() => a.fsm.sessionState === BfdState.Down, 2000, 'A Down');
  sim.advance(5000);
  const quietFrom = a.changes.at(-1)!.at;
  t.ok(a.sent.every((x) => x.at <= quietFrom), 'after the peer went silent the passive side stopped sending');
  t.equal(a.fsm.transmitting, false);

  const both = pair({ ...P300, passive: true }, { ...P300, passive: true });
  both.sim.fire(both.a, { type: 'start' });
  both.sim.fire(both.b, { type: 'start' });
  both.sim.advance(10_000);
  t.equal(both.a.sent.length + both.b.sent.length, 0, 'two passive sides never start');
});

t.test('a peer in Demand mode or asking for RX 0 gets no periodic packets (RFC 5880 §6.8.7)', async (t) => {
  let s: BfdFsmState = step(initialBfdFsm(P300, 1, 9), { type: 'start' }).state;
  s = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Init, yourDiscriminator: 1 }) }).state;
  s = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, final: true }) }).state;
  const demand = step(s, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, demand: true }) });
  const tick = step(demand.state, { type: 'timerExpired', timer: BfdTimer.Transmit });
  t.same(sends(tick.actions), [], 'no periodic packet while the peer is in Demand mode');
  t.equal(tick.state.transmitting, false);
  const back = step(tick.state, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1 }) });
  t.equal(sends(back.actions).length, 1, 'transmission resumes when D clears');
  const zero = step(back.state, { type: 'packet', packet: peerPacket({ state: BfdState.Up, yourDiscriminator: 1, requiredMinRxUs: 0 }) });
  const tick2 = step(zero.state, { type: 'timerExpired', timer: BfdTimer.Transmit });
  t.same(sends(tick2.actions), [], 'no periodic packet to a peer with Required Min RX 0');
});

t.test('our AdminDown: diag 7, packets ignored, no detection', async (t) => {
  const { sim, a, b } = upPair();
  sim.fire(a, { type: 'adminDown' });
  t.same(a.changes.at(-1), { at: sim.now, from: BfdState.Up, to: BfdState.AdminDown, diag: Diag.AdministrativelyDown, remoteState: BfdState.Up });
  t.equal(a.timers.has(BfdTimer.Detect), false, 'detect timer stopped');
  sim.advance(5000);
  t.equal(a.fsm.sessionState, BfdState.AdminDown, 'B\'s packets do not move A');
  t.equal(b.fsm.sessionState, BfdState.Down);
  t.ok(a.sent.at(-1)!.at > sim.now - 1100, 'A keeps telling B at the slow rate');
});

t.test('events before start and repeated starts are ignored', async (t) => {
  const s = initialBfdFsm(P300, 1, 9);
  t.same(step(s, { type: 'packet', packet: peerPacket() }).actions, []);
  t.same(step(s, { type: 'adminDown' }).actions, []);
  const started = step(s, { type: 'start' });
  t.equal(sends(started.actions).length, 1, 'an active session sends its first Down at once');
  t.equal(timerMs(started.actions, BfdTimer.Transmit)! >= 750, true, 'then every 750-1000 ms');
  t.same(step(started.state, { type: 'start' }).actions, []);
});
