/**
 * The L2 announcer on real frames (docs/l2.md §4): node namespaces with the VIP on lo and
 * arp_ignore=1, the announcer as a child process per node, the router's kernel, arping and ping
 * as the other side, and a packet-socket injector in the router namespace for malformed frames.
 */
import t from 'tap';
import { createLab, waitFor, type Lab } from '../harness/lab';
import { startProc, type ProcClient } from '../fixtures/arp/proc-client';
import { encodeFrame, type NdpFrame } from '../../src/arp/frame';
import type { L2Counters } from '../../src/arp/announcer';

const VIP4 = '10.77.0.100';
const VIP6 = 'fd00:77::100';
const GARP = { burstCount: 3, burstIntervalMs: 200, refreshIntervalMs: 5000 };
const ANNOUNCER = 'test/fixtures/arp/announcer-proc.ts';

let lab: Lab;
let n1: ProcClient;
let n2: ProcClient;
let injector: ProcClient;

t.before(async () => {
  lab = await createLab({ nodes: 2, name: 'l2' });
  await lab.addVip(0, VIP4);
  await lab.addVip(0, VIP6);
  const track = (pid: number): void => lab.trackPid(pid);
  [n1, n2, injector] = await Promise.all([
    startProc(lab.nodes[0]!.ns, ANNOUNCER, { garp: GARP }, track),
    startProc(lab.nodes[1]!.ns, ANNOUNCER, { garp: GARP }, track),
    startProc(lab.router.ns, 'test/fixtures/arp/l2-peer-proc.ts', { iface: 'br0' }, track),
  ]);
});
t.teardown(() => lab?.destroy());

/** arping from the router: exit code and the MAC of every reply (lower case). */
async function arping(ip: string, count: number, broadcastOnly = false): Promise<{ code: number; macs: string[] }> {
  // iputils arping goes unicast after the first reply unless -b.
  const argv = ['arping', ...(broadcastOnly ? ['-b'] : []), '-c', String(count), '-w', String(count + 1), '-I', 'br0', ip];
  const r = await lab.exec(lab.router, argv);
  const macs = [...r.stdout.matchAll(/reply from \S+ \[([0-9A-F:]+)\]/gi)].map((m) => m[1]!.toLowerCase());
  return { code: r.code, macs };
}

async function neighbour(family: 'ipv4' | 'ipv6', ip: string): Promise<string | undefined> {
  return (await lab.neighbors(lab.router, family)).find((n) => n.dst === ip)?.lladdr;
}

const counters = (p: ProcClient): Promise<L2Counters> => p.call<L2Counters>('counters');

t.test('without an announcer nobody answers for the VIP on lo (arp_ignore=1)', async (t) => {
  const r = await arping(VIP4, 1);
  t.equal(r.code, 1);
  t.same(r.macs, []);
});

t.test('node 1 announces: arping, ping and the router neighbour tables show its MAC', async (t) => {
  const node1 = lab.nodes[0]!;
  t.same(await n1.call('announce', { ip: VIP4 }), { ok: true, interfaces: ['eth0'] });
  t.same(await n1.call('announce', { ip: VIP6 }), { ok: true, interfaces: ['eth0'] });
  const r = await arping(VIP4, 2);
  t.equal(r.code, 0, 'arping got replies');
  t.same(r.macs, [node1.mac, node1.mac]);
  t.ok((await lab.ping(lab.router, VIP4)).ok, 'ping 10.77.0.100');
  t.equal(await neighbour('ipv4', VIP4), node1.mac);
  // ndisc6 ignores link-local-sourced NAs (docs/architecture.md §9.9); we source from the VIP, but
  // check the kernel's view as docs/architecture.md §9.9 advises: ping -6 resolves through our NA.
  t.ok((await lab.ping(lab.router, VIP6)).ok, 'ping -6 fd00:77::100');
  t.equal(await neighbour('ipv6', VIP6), node1.mac);
  const c = await counters(n1);
  t.ok((c.responsesSent[VIP4] ?? 0) >= 2 && (c.responsesSent[VIP6] ?? 0) >= 1, 'responses counted per IP');
  t.equal(c.gratuitousSent[VIP4], 2 * GARP.burstCount, 'GARP burst: request + reply per round');
});

t.test('a node that does not own the IP never answers', async (t) => {
  // Node 2 serves another VIP, so it has a socket open and sees every request.
  await n2.call('announce', { ip: '10.77.0.101' });
  const cap = await lab.capture(lab.router, 'br0', 'arp or icmp6');
  await lab.run(lab.router, ['ip', 'neigh', 'flush', 'dev', 'br0']);
  t.same((await arping(VIP4, 3, true)).macs, Array(3).fill(lab.nodes[0]!.mac));
  t.ok((await lab.ping(lab.router, VIP6)).ok);
  // tcpdump hands frames over in blocks; wait for the last answer to be on file before stopping.
  await cap.waitFrame((f) => f.icmpv6?.type === 136 && f.icmpv6.target === VIP6, 5000, 'the NA for the VIP in the capture');
  const frames = await cap.stop();
  const answers = frames.filter((f) => (f.arp?.op === 2 && f.arp.senderIp === VIP4) || (f.icmpv6?.type === 136 && f.icmpv6.target === VIP6));
  t.ok(answers.length >= 4, `saw ${answers.length} answers: ${JSON.stringify(frames.map((f) => [f.src, f.dst, f.arp?.op, f.icmpv6?.type]))}`);
  t.same([...new Set(answers.map((f) => f.src))], [lab.nodes[0]!.mac], 'every answer came from node 1');
  const c2 = await counters(n2);
  t.same(c2.responsesSent, {});
  t.ok(c2.dropped['not-ours'] >= 4, `node 2 saw the requests and dropped them as not-ours (${c2.dropped['not-ours']})`);
  await n2.call('withdraw', { ip: '10.77.0.101' });
});

t.test('probe resolves true against a live owner, false for a MAC that does not answer', async (t) => {
  const node1 = lab.nodes[0]!;
  t.equal(await n2.call('probe', { ip: VIP4, mac: node1.mac, timeoutMs: 1000 }), true);
  t.equal(await n2.call('probe', { ip: VIP6, mac: node1.mac, timeoutMs: 1000 }), true);
  t.equal(await n2.call('probe', { ip: VIP4, mac: '02:77:00:00:00:99', timeoutMs: 300 }), false);
});

t.test('takeover: GARP / unsolicited NA from node 2 moves the router entries; node 1 sees a conflict', async (t) => {
  const node2 = lab.nodes[1]!;
  t.ok((await lab.ping(lab.router, VIP4)).ok, 'router entry exists before the takeover');
  t.equal(await neighbour('ipv4', VIP4), lab.nodes[0]!.mac);
  await n2.call('announce', { ip: VIP4 });
  await n2.call('announce', { ip: VIP6 });
  await waitFor('router ARP entry for the VIP to move to node 2', async () => (await neighbour('ipv4', VIP4)) === node2.mac, {
    timeoutMs: 3000,
  });
  await waitFor('router ND entry for the VIP to move to node 2', async () => (await neighbour('ipv6', VIP6)) === node2.mac, {
    timeoutMs: 3000,
  });
  const conflict = await n1.waitEvent((e) => e.event === 'conflict' && e.ip === VIP4, 3000, 'conflict event on node 1');
  t.same(conflict, { event: 'conflict', ip: VIP4, mac: node2.mac, interface: 'eth0' });
  await n1.waitEvent((e) => e.event === 'conflict' && e.ip === VIP6, 3000, 'IPv6 conflict event on node 1');
});

t.test('after withdraw, no reply', async (t) => {
  await n1.call('withdraw', { ip: VIP4 });
  await n1.call('withdraw', { ip: VIP6 });
  t.same((await arping(VIP4, 2)).macs, Array(2).fill(lab.nodes[1]!.mac), 'only node 2 answers');
  await n2.call('withdraw', { ip: VIP4 });
  const r = await arping(VIP4, 2);
  t.equal(r.code, 1);
  t.same(r.macs, [], 'nobody answers once both withdrew');
});

t.test('probe times out against a dead owner', async (t) => {
  const node2 = lab.nodes[1]!;
  await n2.call('announce', { ip: VIP4 });
  t.equal(await n1.call('probe', { ip: VIP4, mac: node2.mac, timeoutMs: 1000 }), true, 'live');
  n2.kill('SIGKILL');
  await n2.exited;
  t.equal(await n1.call('probe', { ip: VIP4, mac: node2.mac, timeoutMs: 500 }), false, 'dead');
});

t.test('malformed, truncated and garbage frames are dropped and counted; the responder keeps answering', async (t) => {
  const node1 = lab.nodes[0]!;
  await n1.call('announce', { ip: VIP4 });
  await n1.call('announce', { ip: VIP6 });
  const before = await counters(n1);
  const src = '02:77:00:00:00:01';
  const arpHead = `ffffffffffff${src.replace(/:/g, '')}0806`;
  const ns: NdpFrame = {
    kind: 'ndp',
    eth: { dst: '33:33:ff:00:01:00', src, etherType: 0x86dd },
    ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 255, src: 'fd00:77::1', dst: 'ff02::1:ff00:100' },
    ndp: { type: 'ns', target: VIP6, sourceLinkLayerAddress: src },
  };
  const good = encodeFrame(ns);
  const badSum = Buffer.from(good);
  badSum[56]! ^= 0xff;
  const longPayload = Buffer.from(good);
  longPayload.writeUInt16BE(200, 18);
  const hop64 = encodeFrame({ ...ns, ip6: { ...ns.ip6, hopLimit: 64 } });
  const garbage = [
    `${arpHead}00010800060400`, // ARP cut after 7 bytes
    `${arpHead}000608000604000102770000000100000000ffffffffffff0a4d0064`, // htype 6
    `${arpHead}000108000604000702770000000100000000ffffffffffff0a4d0064`, // op 7
    `${arpHead}${'a5'.repeat(46)}`, // random body
    badSum.toString('hex'),
    longPayload.toString('hex'),
  ];
  const sent = await injector.call<{ sent: number; errors: string[] }>('send', { frames: [...garbage, hop64.toString('hex')] });
  t.same(sent, { sent: 7, errors: [] });
  const after = await waitFor(
    'node 1 to count the injected frames',
    async () => {
      const c = await counters(n1);
      return c.dropped['bad-frame'] - before.dropped['bad-frame'] >= garbage.length && c.dropped['bad-hop-limit'] > before.dropped['bad-hop-limit'] && c;
    },
    { timeoutMs: 3000 },
  );
  t.equal(after.dropped['bad-frame'] - before.dropped['bad-frame'], garbage.length);
  t.equal((after.badFrames.truncated ?? 0) - (before.badFrames.truncated ?? 0), 1);
  t.equal((after.badFrames['bad-hardware-type'] ?? 0) - (before.badFrames['bad-hardware-type'] ?? 0), 2, 'htype 6 and the random body');
  t.equal((after.badFrames['bad-arp-op'] ?? 0) - (before.badFrames['bad-arp-op'] ?? 0), 1);
  t.equal((after.badFrames['bad-checksum'] ?? 0) - (before.badFrames['bad-checksum'] ?? 0), 1);
  t.equal((after.badFrames['bad-payload-length'] ?? 0) - (before.badFrames['bad-payload-length'] ?? 0), 1);
  t.equal(after.dropped['bad-hop-limit'] - before.dropped['bad-hop-limit'], 1);
  t.same((await arping(VIP4, 1)).macs, [node1.mac], 'still answering');
});

t.test('the process exits promptly with sockets open', async (t) => {
  // A deadline, not a timing assertion: the failure mode (docs/architecture.md §9.10, a blocking
  // read) is a hang.
  const exitWithin = async (p: ProcClient, what: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    let result: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void p.exited.then((r) => (result = r));
    return waitFor(what, () => result, { timeoutMs: 5000 });
  };
  // process.exit() while packet sockets, a GARP timer and the stdin reader are live.
  void n1.call('exit').catch(() => undefined);
  t.same(await exitWithin(n1, 'node 1 to exit after process.exit()'), { code: 0, signal: null });
  // SIGTERM -> announcer.close(): with nothing left open the event loop ends by itself.
  const n3 = await startProc(lab.nodes[1]!.ns, ANNOUNCER, { garp: GARP }, (pid) => lab.trackPid(pid));
  await n3.call('announce', { ip: VIP4 });
  await n3.call('announce', { ip: VIP6 });
  n3.kill('SIGTERM');
  t.same(await exitWithin(n3, 'node 2 to exit by itself after close()'), { code: 0, signal: null }, 'natural exit after close()');
});
