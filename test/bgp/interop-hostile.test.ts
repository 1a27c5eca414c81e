/**
 * A hostile peer (a TypeScript TCP server in the router namespace) sends malformed messages to
 * our speaker: it gets the right NOTIFICATION, our session resets cleanly and comes back, the
 * speaker process keeps running, and the speaker's other session (to a well-behaved peer in the
 * same process) is never disturbed. An RFC 7606 treat-as-withdraw error keeps the session.
 */
import { join, resolve } from 'node:path';
import t from 'tap';
import { createLab } from '../harness/lab';
import { sessionConfig, startJsonProc, startSpeaker } from '../fixtures/bgp/speaker-driver';
import type { SpeakerEvent } from '../fixtures/bgp/speaker-driver';

const ff = 'ff'.repeat(16);
const HOSTILE = join(resolve(__dirname, '../..'), 'test/fixtures/bgp/hostile-peer.ts');

/** An UPDATE carrying `attrsHex` and one NLRI 10.77.0.99/32, with lengths computed. */
function update(attrsHex: string, nlriHex = '200a4d0063'): string {
  const body = '0000' + (attrsHex.length / 2).toString(16).padStart(4, '0') + attrsHex + nlriHex;
  return ff + (19 + body.length / 2).toString(16).padStart(4, '0') + '02' + body;
}

const cases: Array<{ name: string; hex: string; code: number; subcode: number }> = [
  { name: 'bad marker', hex: '00'.repeat(16) + '001304', code: 1, subcode: 1 },
  { name: 'length 18', hex: ff + '001204', code: 1, subcode: 2 },
  { name: 'unknown message type 9', hex: ff + '001309', code: 1, subcode: 3 },
  { name: 'KEEPALIVE with a body', hex: ff + '00140400', code: 1, subcode: 2 },
  { name: 'unrecognized well-known attribute', hex: update('400101' + '00' + '400200' + '400304' + '0a4d0001' + '40320100'), code: 3, subcode: 2 },
  { name: 'MP_REACH with a next hop of 5 octets', hex: update('400101' + '00' + '400200' + '800e0a' + '00020105' + '00'.repeat(6), ''), code: 3, subcode: 9 },
  { name: 'NLRI prefix length 33', hex: update('400101' + '00' + '400200' + '400304' + '0a4d0001', '210a4d006300'), code: 3, subcode: 10 },
  {
    name: 'OPEN in Established',
    hex: ff + '001d01' + '04' + 'fbf5' + '0009' + '0a4d0001' + '00',
    code: 5,
    subcode: 3,
  },
];

t.test('hostile peer', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'bgp-hostile' });
  t.teardown(() => lab.destroy());
  const node = lab.nodes[0]!;
  const peer = startJsonProc(lab, lab.router.ns, HOSTILE, { good: { host: lab.router.ipv6, asn: 64501 }, hostile: { host: lab.router.ipv4, asn: 64501 } }, 'hostile-peer');
  await peer.waitEvent('listening', (e) => e.event === 'listening', 20_000);
  const speaker = startSpeaker(
    lab,
    node.ns,
    [
      { id: 'hostile', config: sessionConfig({ peerAddress: lab.router.ipv4, localAsn: 64500, peerAsn: 64501, routerId: node.ipv4, families: [{ afi: 1, safi: 1 }] }) },
      { id: 'good', config: sessionConfig({ peerAddress: lab.router.ipv6, localAsn: 64500, peerAsn: 64501, routerId: node.ipv4, families: [{ afi: 2, safi: 1 }] }) },
    ],
    { '10.77.0.140/32': {}, 'fd00:77::140/128': {} },
  );
  await speaker.waitEvent('good session up', (e) => e.event === 'established' && e.id === 'good', 60_000);

  /** Wait until the hostile peer's newest connection has our full table (End-of-RIB seen). */
  const readyConn = async (): Promise<number> => {
    const up = await peer.waitEvent(
      'a hostile connection with our UPDATEs',
      (e) => e.event === 'message' && e.peer === 'hostile' && e.type === 2 && !peer.events.some((c) => c.event === 'closed' && c.peer === 'hostile' && c.conn === e.conn),
      20_000,
    );
    return up.conn as number;
  };

  for (const c of cases) {
    const conn = await readyConn();
    const from = peer.events.length;
    peer.send({ cmd: 'send', hex: c.hex });
    const n = await peer.waitEvent(`NOTIFICATION for ${c.name}`, (e) => e.event === 'message' && e.peer === 'hostile' && e.conn === conn && e.type === 3, 10_000, from);
    t.same([n.code, n.subcode], [c.code, c.subcode], `${c.name}: NOTIFICATION ${c.code}/${c.subcode}`);
    await peer.waitEvent(`connection closed after ${c.name}`, (e) => e.event === 'closed' && e.peer === 'hostile' && e.conn === conn, 10_000, from);
  }

  t.test('RFC 7606: a malformed AS_PATH withdraws, the session stays', async (t) => {
    const conn = await readyConn();
    const from = speaker.events.length;
    const pfrom = peer.events.length;
    peer.send({ cmd: 'send', hex: update('400101' + '00' + '400204' + '05010001' + '400304' + '0a4d0001') });
    // A KEEPALIVE round later the session must still be up on the same connection.
    await peer.waitEvent('a KEEPALIVE after the bad UPDATE', (e) => e.event === 'message' && e.peer === 'hostile' && e.conn === conn && e.type === 4, 10_000, pfrom);
    t.notOk(peer.events.slice(pfrom).some((e) => e.event === 'closed' || e.type === 3), 'no NOTIFICATION, no close');
    t.notOk(speaker.events.slice(from).some((e) => e.event === 'down'), 'session not reset');
  });

  await readyConn();
  const downs = (id: string): SpeakerEvent[] => speaker.events.filter((e) => e.event === 'down' && e.id === id);
  t.equal(downs('hostile').length, cases.length, 'one clean reset per malformed message');
  t.ok(downs('hostile').every((d) => d.reason?.kind === 'notificationSent'), 'each reset sent its NOTIFICATION');
  t.equal(downs('good').length, 0, 'the other session was never disturbed');
  t.equal(speaker.events.filter((e) => e.event === 'established' && e.id === 'good').length, 1);
  t.equal(speaker.child.exitCode, null, 'the speaker process is still running');
  speaker.send({ cmd: 'counters' });
  const counters = await speaker.waitEvent('counters', (e) => e.event === 'counters' && e.id === 'hostile');
  t.match(counters, { counters: { notificationsSent: cases.length } });
});
