// A station claiming an announced IP: every frame is counted (per IP, for
// metallb_speaker_l2_conflicts_total) and reported to the election, but the warning is rate
// limited per IP and claiming MAC. A flood of 20,000 forged gratuitous ARPs used to be 20,000
// warning lines. reannounce() answers a claim with a gratuitous round at once, even mid-burst.
import t from 'tap';
import { Writable } from 'node:stream';
import { L2Announcer, type ConflictEvent } from '../../src/arp/announcer';
import { decodeFrame, type Frame } from '../../src/arp/frame';
import { IfFlags, type InterfaceDescription } from '../../src/arp/interfaces';
import type { L2Socket, L2System } from '../../src/arp/l2-system';
import { createRootLogger } from '../../src/util/log';
import * as v from '../fixtures/arp/vectors';
import { FakeClock } from '../harness/fake-clock';

/** The IP the vectors' gratuitous ARP (from 02:00:00:00:00:0a) claims. */
const CLAIMED = '10.77.9.100';

class FakeSocket implements L2Socket {
  readonly sent: Frame[] = [];
  constructor(
    readonly ifname: string,
    readonly deliver: (frame: Buffer, pktType: number) => void,
  ) {}
  send(frame: Buffer): void {
    this.sent.push(decodeFrame(frame));
  }
  addMembership(): void {}
  dropMembership(): void {}
  close(): void {}
}

function setup() {
  const clock = new FakeClock();
  const sockets: FakeSocket[] = [];
  const iface: InterfaceDescription = { name: 'eth0', mac: '02:00:00:00:00:b0', flags: IfFlags.Up | IfFlags.Broadcast, hwType: 1, enslaved: false, hasIpv6LinkLocal: true };
  const system: L2System = {
    listInterfaces: () => [{ ...iface }],
    linkLocalAddresses: () => new Map(),
    openPacketSocket: (ifname, onFrame) => {
      const s = new FakeSocket(ifname, onFrame);
      sockets.push(s);
      return s;
    },
  };
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const a = new L2Announcer({ logger: createRootLogger('info', sink), clock, system, garp: { burstCount: 3, burstIntervalMs: 1000, refreshIntervalMs: 10_000 }, rescanIntervalMs: 0 });
  return { clock, sockets, lines, a };
}

t.test('20,000 forged gratuitous ARPs: every one counted and reported, one warning line per window', async (t) => {
  const { clock, sockets, lines, a } = setup();
  t.teardown(() => a.close());
  a.announce(CLAIMED);
  const seen: ConflictEvent[] = [];
  a.on('conflict', (c) => seen.push(c));
  const eth0 = sockets[0]!;
  const warnings = () => lines.filter((l) => l.event === 'conflict');
  for (let i = 0; i < 20_000; i++) eth0.deliver(v.garpRequest, 1);
  t.equal(a.counters().conflicts, 20_000, 'the total counts every frame');
  t.same(a.counters().conflictsByIp, { [CLAIMED]: 20_000 }, 'and so does the per-IP count');
  t.equal(seen.length, 20_000, 'the election hears of every claim');
  t.equal(warnings().length, 1, 'one warning line, not 20,000');
  t.match(warnings()[0], { level: 40, ip: CLAIMED, mac: '02:00:00:00:00:0a' });
  clock.advance(30_000);
  t.equal(warnings().length, 2, 'when the window ends, one line with the count');
  t.match(warnings()[1], { suppressed: 19_999, msg: /19999 more not logged in the last 30 s/ });
  clock.advance(60_000);
  t.equal(warnings().length, 2, 'nothing more once the flood stopped');
  eth0.deliver(v.garpRequest, 1);
  t.equal(warnings().length, 3, 'a claim in a later window is logged again');
});

t.test('reannounce sends a gratuitous round at once, even in the middle of a burst', async (t) => {
  const { clock, sockets, a } = setup();
  t.teardown(() => a.close());
  a.announce(CLAIMED);
  const eth0 = sockets[0]!;
  const rounds = () => eth0.sent.filter((f) => f.kind === 'arp' && f.arp.senderIp === CLAIMED && f.arp.targetIp === CLAIMED).length / 2;
  t.equal(rounds(), 1, 'the burst starts with one round');
  clock.advance(300);
  t.equal(a.reannounce(CLAIMED), true);
  t.equal(rounds(), 2, 'a second round 300 ms later, not at the next burst slot');
  t.equal(a.reannounce('10.77.9.101'), false, 'an IP we do not announce is not defended');
  t.equal(rounds(), 2);
});
