import t from 'tap';
import { L2Announcer, type ConflictEvent } from '../../src/arp/announcer';
import { decodeFrame, encodeFrame, type Frame } from '../../src/arp/frame';
import { IfFlags, type InterfaceDescription } from '../../src/arp/interfaces';
import type { L2Socket, L2System } from '../../src/arp/l2-system';
import { probeFrame } from '../../src/arp/responder';
import { silentLogger } from '../../src/util/log';
import * as v from '../fixtures/arp/vectors';
import { FakeClock } from '../harness/fake-clock';
import type { Clock } from '../../src/util/clock';

const MAC0 = '02:00:00:00:00:b0';
const MAC1 = '02:00:00:00:00:b1';
const PEER = '02:00:00:00:00:0a';

class FakeSocket implements L2Socket {
  sent: Frame[] = [];
  groups: string[] = [];
  closed = false;
  constructor(
    readonly ifname: string,
    readonly deliver: (frame: Buffer, pktType: number) => void,
  ) {}
  send(frame: Buffer): void {
    if (this.closed) throw new Error('closed');
    this.sent.push(decodeFrame(frame));
  }
  addMembership(mac: Buffer): void {
    this.groups.push(`+${mac.toString('hex')}`);
  }
  dropMembership(mac: Buffer): void {
    this.groups.push(`-${mac.toString('hex')}`);
  }
  close(): void {
    this.closed = true;
  }
}

function fakeSystem(): L2System & { ifaces: InterfaceDescription[]; sockets: FakeSocket[]; open(name: string): FakeSocket } {
  const up = IfFlags.Up | IfFlags.Broadcast;
  const sys = {
    ifaces: [
      { name: 'lo', mac: '00:00:00:00:00:00', flags: IfFlags.Up | IfFlags.Loopback, hwType: 772, enslaved: false, hasIpv6LinkLocal: true },
      { name: 'eth0', mac: MAC0, flags: up, hwType: 1, enslaved: false, hasIpv6LinkLocal: true },
      { name: 'eth1', mac: MAC1, flags: up, hwType: 1, enslaved: false, hasIpv6LinkLocal: true },
    ] as InterfaceDescription[],
    sockets: [] as FakeSocket[],
    listInterfaces: () => sys.ifaces.map((i) => ({ ...i })),
    linkLocalAddresses: () => new Map([['eth0', 'fe80::b0']]),
    openPacketSocket: (ifname: string, onFrame: (f: Buffer, p: number) => void): L2Socket => {
      const s = new FakeSocket(ifname, onFrame);
      sys.sockets.push(s);
      return s;
    },
    open(name: string): FakeSocket {
      const s = sys.sockets.filter((x) => x.ifname === name && !x.closed);
      if (s.length !== 1) throw new Error(`expected one open socket on ${name}, found ${s.length}`);
      return s[0]!;
    },
  };
  return sys;
}

function setup(garp = { burstCount: 3, burstIntervalMs: 1000, refreshIntervalMs: 10_000 }) {
  const clock = new FakeClock();
  const sys = fakeSystem();
  const a = new L2Announcer({ logger: silentLogger(), clock, system: sys, garp, rescanIntervalMs: 10_000 });
  return { clock, sys, a };
}

const arpWhoHas = (ip: string, dst = 'ff:ff:ff:ff:ff:ff'): Buffer =>
  encodeFrame({
    kind: 'arp',
    eth: { dst, src: PEER, etherType: 0x0806 },
    arp: { op: 1, senderMac: PEER, senderIp: '10.77.0.1', targetMac: '00:00:00:00:00:00', targetIp: ip },
  });

t.test('announce v4: socket per interface, GARP burst then refresh, replies until withdraw', async (t) => {
  const { clock, sys, a } = setup();
  t.same(a.announce('10.77.0.100'), { ok: true, interfaces: ['eth0', 'eth1'] });
  const eth0 = sys.open('eth0');
  t.same(
    eth0.sent.map((f) => f.kind === 'arp' && [f.arp.op, f.eth.dst, f.arp.senderIp, f.arp.targetIp]),
    [
      [1, 'ff:ff:ff:ff:ff:ff', '10.77.0.100', '10.77.0.100'],
      [2, 'ff:ff:ff:ff:ff:ff', '10.77.0.100', '10.77.0.100'],
    ],
    'immediate GARP in request and reply form',
  );
  clock.advance(2000);
  t.equal(eth0.sent.length, 6, 'burst of 3 rounds');
  clock.advance(9999);
  t.equal(eth0.sent.length, 6);
  clock.advance(1);
  t.equal(eth0.sent.length, 8, 'refresh 10 s after the burst');
  t.equal(a.counters().gratuitousSent['10.77.0.100'], 16, 'two frames per round on two interfaces');

  eth0.sent = [];
  eth0.deliver(arpWhoHas('10.77.0.100'), 1);
  t.same(eth0.sent, [
    {
      kind: 'arp',
      eth: { dst: PEER, src: MAC0, etherType: 0x0806 },
      arp: { op: 2, senderMac: MAC0, senderIp: '10.77.0.100', targetMac: PEER, targetIp: '10.77.0.1' },
    },
  ]);
  a.withdraw('10.77.0.100');
  eth0.deliver(arpWhoHas('10.77.0.100'), 1);
  t.equal(eth0.sent.length, 1, 'no reply after withdraw');
  const c = a.counters();
  t.equal(c.requestsReceived['10.77.0.100'], 1);
  t.equal(c.responsesSent['10.77.0.100'], 1);
  t.equal(c.dropped['not-ours'], 1);
  clock.advance(60_000);
  t.equal(eth0.sent.length, 1, 'no GARP after withdraw');
  a.close();
});

t.test('announce on named interfaces; missing interfaces fail like upstream', async (t) => {
  const { sys, a } = setup();
  t.same(a.announce('10.77.0.100', ['eth1']), { ok: true, interfaces: ['eth1'] });
  t.equal(sys.sockets.filter((s) => s.ifname === 'eth0').length, 0, 'no socket where nothing is announced');
  const eth1 = sys.open('eth1');
  eth1.sent = [];
  eth1.deliver(arpWhoHas('10.77.0.100'), 1);
  t.equal(eth1.sent.length, 1);
  t.same(a.announce('10.77.0.101', ['nope', 'lo']), { ok: false, reason: 'no-such-interface', requested: ['nope', 'lo'] });
  t.same([...a.announcements().keys()], ['10.77.0.100']);
  t.throws(() => a.announce('10.77.0', 'all'), { code: 'MLB_ERR_BAD_ADDRESS' });
  a.close();
});

t.test('IPv6: solicited-node groups joined per VIP (refcounted) and left on withdraw', async (t) => {
  const { sys, a } = setup();
  a.announce('fd00:77::100', ['eth0']);
  a.announce('fd00:77:1::100', ['eth0']); // same low 24 bits: same group
  a.announce('fd00:77::101', ['eth0']);
  const eth0 = sys.open('eth0');
  t.same(eth0.groups, ['+3333ff000100', '+3333ff000101']);
  a.withdraw('fd00:77::100');
  t.same(eth0.groups.length, 2, 'group still needed by fd00:77:1::100');
  a.withdraw('FD00:77:1::100');
  t.same(eth0.groups.at(-1), '-3333ff000100');
  t.equal(eth0.sent.filter((f) => f.kind === 'ndp' && f.ndp.type === 'na' && !f.ndp.solicited && f.ndp.override).length, 3, 'unsolicited NA each');

  eth0.sent = [];
  const ns = Buffer.from(v.nsMulticast); // kernel NS for fd00:77:9::2, re-used against a VIP we hold
  a.announce('fd00:77:9::2');
  eth0.sent = [];
  eth0.deliver(ns, 2);
  t.equal(eth0.sent.length, 1);
  const na = eth0.sent[0]!;
  t.ok(na.kind === 'ndp' && na.ndp.type === 'na' && na.ndp.solicited && na.ip6.src === 'fd00:77:9::2' && na.eth.dst === '02:00:00:00:00:0a');
  a.close();
});

// Regression (docs audit): every announce built a fresh record, so a re-announce with another
// interface selection never left the groups joined for the previous one, and a repeated
// announce joined nothing but then never left either.
t.test('IPv6: a re-announce on other interfaces moves the group; a repeat does not count twice', async (t) => {
  const { sys, a } = setup();
  a.announce('fd00:77::100', ['eth0']);
  a.announce('fd00:77::100', ['eth1']);
  t.same(sys.open('eth0').groups, ['+3333ff000100', '-3333ff000100'], 'left on eth0');
  t.same(sys.open('eth1').groups, ['+3333ff000100'], 'joined on eth1');
  a.announce('fd00:77::100', ['eth1']);
  a.withdraw('fd00:77::100');
  t.same(sys.open('eth1').groups, ['+3333ff000100', '-3333ff000100'], 'one join, one leave');
  a.close();
});

t.test('servingMacs: the MACs of the interfaces that would serve an IP, from the scan', async (t) => {
  const { a } = setup();
  t.same([...a.servingMacs('10.77.0.100', 'all')], [['eth0', MAC0], ['eth1', MAC1]]);
  t.same([...a.servingMacs('10.77.0.100', ['eth1'])], [['eth1', MAC1]], 'only the selected interface');
  t.same([...a.servingMacs('10.77.0.100', ['eth9'])], [], 'none when the selection names no interface here');
  a.close();
});

t.test('conflict event from a GARP by another MAC', async (t) => {
  const { sys, a } = setup();
  a.announce('10.77.9.100');
  const seen: ConflictEvent[] = [];
  a.on('conflict', (c) => seen.push(c));
  sys.open('eth1').deliver(v.garpRequest, 1);
  t.same(seen, [{ ip: '10.77.9.100', mac: '02:00:00:00:00:0a', interface: 'eth1' }]);
  t.equal(a.counters().conflicts, 1);
  a.close();
});

t.test('probe: true when the owner answers, false on timeout; NS probes come from link-local', async (t) => {
  const { clock, sys, a } = setup();
  const p = a.probe('10.77.0.100', PEER, { timeoutMs: 500, interfaces: ['eth0'] });
  const eth0 = sys.open('eth0');
  t.same(eth0.sent, [probeFrame('10.77.0.100', PEER, MAC0)]);
  const answer = encodeFrame({
    kind: 'arp',
    eth: { dst: MAC0, src: PEER, etherType: 0x0806 },
    arp: { op: 2, senderMac: PEER, senderIp: '10.77.0.100', targetMac: MAC0, targetIp: '0.0.0.0' },
  });
  eth0.deliver(answer, 0);
  t.equal(await p, true);

  const dead = a.probe('10.77.0.100', '02:00:00:00:00:0c', { timeoutMs: 500, interfaces: ['eth0'] });
  eth0.deliver(answer, 0); // an answer from a different MAC does not count
  clock.advance(499);
  let settled = false;
  void dead.then(() => (settled = true));
  await Promise.resolve();
  t.notOk(settled);
  clock.advance(1);
  t.equal(await dead, false);

  eth0.sent = [];
  const p6 = a.probe('fd00:77::100', PEER, { timeoutMs: 500, interfaces: ['eth0'] });
  const ns = eth0.sent[0];
  t.ok(ns?.kind === 'ndp' && ns.ip6.src === 'fe80::b0' && ns.ip6.dst === 'fd00:77::100' && ns.eth.dst === PEER);
  clock.advance(500);
  t.equal(await p6, false);
  t.equal(a.counters().probesSent, 3);
  t.equal(await a.probe('10.77.0.100', PEER, { interfaces: ['nope'] }), undefined, 'nowhere to probe: undefined, not a miss');
  a.close();
});

// A node whose own link is down hears nobody: counting that silence as misses made it take
// every VIP it succeeds from live holders (the soak's link-flap fault).
t.test('probe: undefined, not a miss, when no selected link has carrier', async (t) => {
  const { sys, a } = setup();
  const carrier = new Map([['eth0', false], ['eth1', true]]);
  sys.hasCarrier = (name: string) => carrier.get(name);
  t.equal(await a.probe('10.77.0.100', PEER, { timeoutMs: 500, interfaces: ['eth0'] }), undefined, 'eth0 without carrier: unprobed');
  const viaEth1 = a.probe('10.77.0.100', PEER, { timeoutMs: 500, interfaces: 'all' });
  t.same(sys.open('eth1').sent.length, 1, 'with "all", the probe goes out on the link that has carrier');
  t.equal(sys.sockets.filter((s) => s.ifname === 'eth0').flatMap((s) => s.sent).length, 0, 'and not on the one without');
  a.close();
  await viaEth1;
});

/**
 * Timers fire only when the test says, and only those due when it says so: the order a busy event
 * loop produces, where a late timer runs before the frames that arrived while the loop was busy.
 */
class LateLoopClock implements Clock {
  t = 0;
  private readonly timers = new Set<{ at: number; fn: () => void }>();
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const timer = { at: this.t + ms, fn };
    this.timers.add(timer);
    return timer;
  };
  clearTimeout = (handle: unknown): void => void this.timers.delete(handle as { at: number; fn: () => void });
  /** One timers phase: fire what is due now, not what those timers schedule. */
  timersPhase(): void {
    for (const timer of [...this.timers].filter((x) => x.at <= this.t)) {
      this.timers.delete(timer);
      timer.fn();
    }
  }
}

t.test('probe: an answer read after a late deadline timer still counts; silence is still a miss', async (t) => {
  const clock = new LateLoopClock();
  const sys = fakeSystem();
  const a = new L2Announcer({ logger: silentLogger(), clock, system: sys, rescanIntervalMs: 0 });
  const answer = encodeFrame({
    kind: 'arp',
    eth: { dst: MAC0, src: PEER, etherType: 0x0806 },
    arp: { op: 2, senderMac: PEER, senderIp: '10.77.0.100', targetMac: MAC0, targetIp: '0.0.0.0' },
  });
  const late = a.probe('10.77.0.100', PEER, { timeoutMs: 80, interfaces: ['eth0'] });
  clock.t = 300; // this loop was busy well past the deadline, and the answer waits to be read
  clock.timersPhase();
  sys.open('eth0').deliver(answer, 0);
  clock.timersPhase();
  t.equal(await late, true, 'the answer that waited behind the busy loop counts');

  const silent = a.probe('10.77.0.100', PEER, { timeoutMs: 80, interfaces: ['eth0'] });
  clock.t = 600;
  clock.timersPhase();
  clock.timersPhase();
  t.equal(await silent, false, 'no answer by the turn after the deadline: a miss');
  a.close();
});

t.test('garbage and truncated frames are counted and never throw', async (t) => {
  const { sys, a } = setup();
  a.announce('10.77.0.100');
  const eth0 = sys.open('eth0');
  const junk = [Buffer.alloc(0), Buffer.alloc(5, 1), v.arpRequest.subarray(0, 30), Buffer.from(v.nsMulticast).fill(0xff, 56, 58)];
  for (const j of junk) eth0.deliver(j, 0);
  const c = a.counters();
  t.equal(c.dropped['bad-frame'], 4);
  t.same(
    Object.entries(c.badFrames).filter(([, n]) => n > 0),
    [
      ['truncated', 3],
      ['bad-checksum', 1],
    ],
  );
  t.equal(c.framesReceived, 4);
  a.close();
});

t.test('rescan follows interfaces going away and coming back', async (t) => {
  const { clock, sys, a } = setup();
  a.announce('10.77.0.100');
  const eth1Before = sys.open('eth1');
  sys.ifaces = sys.ifaces.filter((i) => i.name !== 'eth1');
  clock.advance(10_000);
  t.ok(eth1Before.closed, 'socket closed when the interface disappears');
  t.same(a.announcements().get('10.77.0.100'), ['eth0']);
  sys.ifaces.push({ name: 'eth1', mac: MAC1, flags: IfFlags.Up | IfFlags.Broadcast, hwType: 1, enslaved: true, hasIpv6LinkLocal: false });
  clock.advance(10_000);
  t.same(a.announcements().get('10.77.0.100'), ['eth0'], 'enslaved: still not served');
  sys.ifaces[sys.ifaces.length - 1]!.enslaved = false;
  clock.advance(10_000);
  t.same(a.announcements().get('10.77.0.100'), ['eth0', 'eth1']);
  sys.open('eth1');
  a.close();
});

t.test('close cancels every timer, closes sockets and settles probes', async (t) => {
  const { clock, sys, a } = setup();
  a.announce('10.77.0.100');
  const p = a.probe('10.77.0.101', PEER, { timeoutMs: 60_000 });
  a.close();
  t.equal(await p, false);
  t.equal(clock.pending, 0, 'no timer left');
  t.ok(sys.sockets.every((s) => s.closed));
  a.close();
  t.throws(() => a.announce('10.77.0.100'));
});

t.test('a throwing conflict listener does not escape into the frame callback', async (t) => {
  const { sys, a } = setup();
  a.announce('10.77.9.100');
  a.on('conflict', () => {
    throw new Error('listener bug');
  });
  t.doesNotThrow(() => sys.open('eth0').deliver(v.garpReply, 1));
  t.equal(a.counters().conflicts, 1);
  a.close();
});
