/**
 * The announcer over a system that answers requests itself (the responder thread,
 * src/arp/responder-thread.ts): the system gets the table after every change, the announcer only
 * counts what the system answered, and answers itself what the system could not yet.
 */
import t from 'tap';
import { L2Announcer } from '../../src/arp/announcer';
import { decodeFrame, encodeFrame, type Frame } from '../../src/arp/frame';
import { IfFlags } from '../../src/arp/interfaces';
import type { L2Socket, L2System } from '../../src/arp/l2-system';
import type { Announcement } from '../../src/arp/responder';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const MAC0 = '02:00:00:00:00:b0';
const PEER = '02:00:00:00:00:0a';
const VIP = '10.77.0.100';

type Deliver = (frame: Buffer, pktType: number, answered?: boolean) => void;

function answeringSystem() {
  const sent: Frame[] = [];
  const tables: Array<{ announced: string[]; ownMacs: string[] }> = [];
  let deliver: Deliver | undefined;
  const system: L2System = {
    listInterfaces: () => [{ name: 'eth0', mac: MAC0, flags: IfFlags.Up | IfFlags.Broadcast, hwType: 1, enslaved: false, hasIpv6LinkLocal: true }],
    linkLocalAddresses: () => new Map(),
    openPacketSocket: (ifname, onFrame): L2Socket => {
      deliver = onFrame;
      return {
        ifname,
        send: (f) => sent.push(decodeFrame(f)),
        addMembership: () => undefined,
        dropMembership: () => undefined,
        close: () => undefined,
      };
    },
    answer: (announced: ReadonlyMap<string, Announcement>, ownMacs: ReadonlySet<string>) => {
      tables.push({ announced: [...announced.keys()], ownMacs: [...ownMacs] });
    },
  };
  return { system, sent, tables, deliver: (...a: Parameters<Deliver>) => deliver!(...a) };
}

const whoHas = encodeFrame({
  kind: 'arp',
  eth: { dst: 'ff:ff:ff:ff:ff:ff', src: PEER, etherType: 0x0806 },
  arp: { op: 1, senderMac: PEER, senderIp: '10.77.0.1', targetMac: '00:00:00:00:00:00', targetIp: VIP },
});

t.test('the system gets the table after every change', async (t) => {
  const s = answeringSystem();
  const a = new L2Announcer({ logger: silentLogger(), clock: new FakeClock(), system: s.system, rescanIntervalMs: 0 });
  t.same(s.tables.at(-1), { announced: [], ownMacs: [MAC0] }, 'the first scan publishes our MACs');
  a.announce(VIP);
  t.same(s.tables.at(-1)?.announced, [VIP], 'announce publishes');
  a.withdraw(VIP);
  t.same(s.tables.at(-1)?.announced, [], 'withdraw publishes');
  const n = s.tables.length;
  a.withdraw(VIP);
  t.equal(s.tables.length, n, 'withdrawing what is not announced publishes nothing');
  a.close();
});

t.test('replies: counted when the system answered, sent when it did not', async (t) => {
  const s = answeringSystem();
  const a = new L2Announcer({ logger: silentLogger(), clock: new FakeClock(), system: s.system, rescanIntervalMs: 0, garp: { burstCount: 1 } });
  a.announce(VIP);
  const arpReplies = (): Frame[] => s.sent.filter((f) => f.kind === 'arp' && f.arp.op === 2 && f.eth.dst === PEER);

  s.deliver(whoHas, 1, true);
  t.equal(arpReplies().length, 0, 'answered by the system: no second reply');
  s.deliver(whoHas, 1, false);
  t.equal(arpReplies().length, 0, 'the system failed to send: not retried from here');
  s.deliver(whoHas, 1);
  t.equal(arpReplies().length, 1, 'not answered by the system (its table was behind): answered here');
  const c = a.counters();
  t.equal(c.requestsReceived[VIP], 3);
  t.equal(c.responsesSent[VIP], 2, 'the system reply and ours');
  t.equal(c.sendErrors, 1, 'the failed send of the system');
  a.close();
});
