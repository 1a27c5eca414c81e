/**
 * The socket shell on loopback with real timers: two managers back to back, and a scripted peer
 * (its own UDP sockets, the real codec) for the GTSM check, demultiplexing, source ports, the
 * TTL we send with, detection and AdminDown on removal. Intervals are short (50 ms) so
 * detections take a fraction of a second; every wait polls with a deadline.
 */
import t from 'tap';
import dgram from 'node:dgram';
import { Registry } from 'prom-client';
import { BfdState, decode, Diag, DiscardCode, encode } from '../../src/bfd/codec';
import type { ControlPacket } from '../../src/bfd/codec';
import { BfdManager, DemuxDiscard, SOURCE_PORT_MAX, SOURCE_PORT_MIN } from '../../src/bfd/bfd-manager';
import type { BfdDownInfo, BfdSessionConfig } from '../../src/bfd/bfd-session';
import { createBfdMetrics } from '../../src/bfd/metrics';
import { openUdpTtlSocket, type UdpDatagram } from '../../src/native';
import { silentLogger } from '../../src/util/log';
import { waitFor } from '../harness/lab-exec';
import { controlPacket } from '../fixtures/bfd/packets';

const log = silentLogger();

/** A UDP port free on 127.0.0.0/8 right now, used by every endpoint on its own address. */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const fast = { desiredMinTxMs: 50, requiredMinRxMs: 50, detectMult: 3, passive: false };
const cfg = (peer: string, local: string, over: Partial<BfdSessionConfig> = {}): BfdSessionConfig => ({
  peerAddress: peer,
  localAddress: local,
  multihop: false,
  params: fast,
  minimumTtl: 254,
  ...over,
});

/** A peer made of plain sockets: hears with TTLs, answers with a chosen TTL. */
async function scriptedPeer(address: string, port: number, multihopPort?: number) {
  const heard: (UdpDatagram & { packet?: ControlPacket })[] = [];
  const onDatagram = (d: UdpDatagram): void => {
    const r = decode(d.payload);
    heard.push(r.ok ? { ...d, packet: r.packet } : d);
  };
  const rx = openUdpTtlSocket({ family: 4, address, port, onDatagram });
  const rxm = multihopPort !== undefined ? openUdpTtlSocket({ family: 4, address, port: multihopPort, onDatagram }) : undefined;
  const tx = dgram.createSocket('udp4');
  await new Promise<void>((r) => tx.bind(0, address, () => r()));
  return {
    heard,
    async send(p: ControlPacket, toPort: number, ttl = 255, to = '127.0.0.1'): Promise<void> {
      tx.setTTL(ttl);
      await new Promise<void>((r, j) => tx.send(encode(p), toPort, to, (err) => (err ? j(err) : r())));
    },
    close(): void {
      rx.close();
      rxm?.close();
      tx.close();
    },
  };
}

const packet = (over: Partial<ControlPacket>): ControlPacket =>
  controlPacket({ myDiscriminator: 4242, desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, ...over });

t.test('two managers back to back: Up, AdminDown on removal, metrics', async (t) => {
  const port = await freeUdpPort();
  const ports = { singleHop: port, multihop: port };
  const a = new BfdManager({ log, listenPorts: ports, peerPorts: ports, listenAddresses: { ipv4: '127.0.0.1' } });
  const b = new BfdManager({ log, listenPorts: ports, peerPorts: ports, listenAddresses: { ipv4: '127.0.0.2' } });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const sa = await a.ensureSession(cfg('127.0.0.2', '127.0.0.1'));
  const downs: BfdDownInfo[] = [];
  let ups = 0;
  sa.on('down', (d: BfdDownInfo) => downs.push(d));
  sa.on('up', () => ups++);
  const sb = await b.ensureSession(cfg('127.0.0.1', '127.0.0.2'));
  await waitFor('both sessions Up', () => sa.up && sb.up, { timeoutMs: 5000, intervalMs: 5 });
  t.equal(ups, 1, "one 'up' event");
  t.equal(sa.status().remoteDiscr, sb.localDiscr, 'A knows B by its discriminator');
  await waitFor('A to settle on 50 ms', () => sa.status().transmitIntervalMs === 50, { timeoutMs: 5000, intervalMs: 5 });
  t.equal(sa.status().detectionTimeMs, 150, '3 x 50 ms');
  t.equal(await a.ensureSession(cfg('127.0.0.2', '127.0.0.1', { params: { ...fast, desiredMinTxMs: 100 } })), sa, 'ensureSession on a known peer returns it');
  await waitFor('B to see the 100 ms after the Poll Sequence', () => sb.status().detectionTimeMs === 300, { timeoutMs: 5000, intervalMs: 5 });
  t.ok(sa.up && sb.up, 'no flap while the timing changed');

  const reg = new Registry();
  createBfdMetrics(reg, a);
  const text = await reg.metrics();
  t.match(text, /metallb_bfd_session_up\{peer="127\.0\.0\.2",vrf="default"\} 1/);
  t.match(text, /metallb_bfd_session_up_events\{peer="127\.0\.0\.2",vrf="default"\} 1/);
  t.match(text, /# TYPE metallb_bfd_control_packet_input counter/);
  t.match(text, /metallb_bfd_control_packet_output\{peer="127\.0\.0\.2",vrf="default"\} [1-9]/);

  await b.removeSession('127.0.0.1');
  await waitFor('A Down', () => downs.length > 0, { timeoutMs: 2000, intervalMs: 5 });
  t.same(downs[0], { peer: '127.0.0.2', diag: Diag.NeighborSignaledSessionDown, diagText: 'neighbor signaled session down', remoteAdminDown: true }, 'B said AdminDown before leaving');
  t.equal(sa.state, BfdState.Down);
  t.match(await reg.metrics(), /metallb_bfd_session_down_events\{peer="127\.0\.0\.2",vrf="default"\} 1/);
});

t.test('scripted peer: TTL 255 and source ports on send, GTSM and demux on receive, detection', async (t) => {
  const port = await freeUdpPort();
  const mport = await freeUdpPort();
  const ports = { singleHop: port, multihop: mport };
  const a = new BfdManager({ log, listenPorts: ports, peerPorts: ports, listenAddresses: { ipv4: '127.0.0.1' } });
  const peer = await scriptedPeer('127.0.0.2', port, mport);
  const other = await scriptedPeer('127.0.0.3', port);
  t.teardown(async () => {
    await a.close();
    peer.close();
    other.close();
  });
  const s = await a.ensureSession(cfg('127.0.0.2', '127.0.0.1'));
  const s3 = await a.ensureSession(cfg('127.0.0.3', '127.0.0.1'));
  await waitFor('first packets', () => peer.heard.length > 0 && other.heard.length > 0, { timeoutMs: 3000, intervalMs: 5 });
  const first = peer.heard[0]!;
  t.equal(first.ttl, 255, 'sent with TTL 255 (RFC 5881 §5)');
  t.ok(first.srcPort >= SOURCE_PORT_MIN && first.srcPort <= SOURCE_PORT_MAX, `source port ${first.srcPort} in 49152-65535 (RFC 5881 §4)`);
  t.not(other.heard[0]!.srcPort, first.srcPort, 'each session has its own source port');
  t.same([first.packet?.state, first.packet?.yourDiscriminator, first.packet?.desiredMinTxUs], [BfdState.Down, 0, 1_000_000], 'Down, slow start');

  // Bring the session Up by hand: Init answers our Down, then keep sending Up every 20 ms.
  const my = s.localDiscr;
  await peer.send(packet({ state: BfdState.Init, yourDiscriminator: my }), port);
  await waitFor('Up', () => s.up, { timeoutMs: 2000, intervalMs: 2 });
  const keepAlive = setInterval(() => void peer.send(packet({ state: BfdState.Up, yourDiscriminator: my }), port), 20);
  t.teardown(() => clearInterval(keepAlive));

  // A Down with the right discriminator at TTL 254 would take the session down if accepted.
  await peer.send(packet({ state: BfdState.Down, yourDiscriminator: my, diag: 1 }), port, 254);
  await waitFor('the TTL discard', () => a.discards.get(DemuxDiscard.Ttl) === 1, { timeoutMs: 2000, intervalMs: 2 });
  t.ok(s.up, 'a TTL 254 packet is discarded: the session stays Up (GTSM, RFC 5881 §5)');
  await peer.send(packet({ state: BfdState.Down, yourDiscriminator: 0x0badf00d }), port);
  await other.send(packet({ state: BfdState.Down, yourDiscriminator: my }), port);
  await peer.send(packet({ state: BfdState.Up, yourDiscriminator: my, detectMult: 0 }), port);
  const unknown = await scriptedPeer('127.0.0.4', port);
  t.teardown(() => unknown.close());
  await unknown.send(packet({ state: BfdState.Down }), port);
  await waitFor('every discard counted', () => a.discards.size === 5, { timeoutMs: 2000, intervalMs: 2 });
  t.same(Object.fromEntries(a.discards), {
    [DemuxDiscard.Ttl]: 1,
    [DemuxDiscard.UnknownDiscriminator]: 1,
    [DemuxDiscard.AddressMismatch]: 1,
    [DiscardCode.ZeroDetectMult]: 1,
    [DemuxDiscard.NoSession]: 1,
  });
  t.ok(s.up, 'still Up');
  t.equal(s3.state, BfdState.Down, 'the packet from the wrong address reached no session');

  const downs: BfdDownInfo[] = [];
  s.on('down', (d: BfdDownInfo) => downs.push(d));
  clearInterval(keepAlive);
  const cut = performance.now();
  await waitFor('detection', () => downs.length > 0, { timeoutMs: 2000, intervalMs: 1 });
  const ms = performance.now() - cut;
  t.equal(downs[0]!.diag, Diag.ControlDetectionTimeExpired, 'diag 1');
  t.ok(ms <= 150 + 100, `down ${ms.toFixed(1)} ms after the peer went quiet (detection time 150 ms)`);

  const from = peer.heard.length;
  await a.removeSession('127.0.0.2');
  await waitFor('the AdminDown', () => peer.heard.slice(from).some((d) => d.packet?.state === BfdState.AdminDown), { timeoutMs: 2000, intervalMs: 2 });
  t.equal(peer.heard.slice(from).find((d) => d.packet?.state === BfdState.AdminDown)!.packet!.diag, Diag.AdministrativelyDown);
});

t.test('multihop: TTL at least minimumTtl is accepted (RFC 5883 §5)', async (t) => {
  const port = await freeUdpPort();
  const mport = await freeUdpPort();
  const ports = { singleHop: port, multihop: mport };
  const a = new BfdManager({ log, listenPorts: ports, peerPorts: ports, listenAddresses: { ipv4: '127.0.0.1' } });
  const peer = await scriptedPeer('127.0.0.2', port, mport);
  t.teardown(async () => {
    await a.close();
    peer.close();
  });
  const s = await a.ensureSession(cfg('127.0.0.2', '127.0.0.1', { multihop: true, minimumTtl: 250 }));
  await waitFor('a multihop packet', () => peer.heard.some((d) => d.packet !== undefined), { timeoutMs: 3000, intervalMs: 5 });
  t.equal(a.session('127.0.0.2', true), s);
  t.equal(a.session('127.0.0.2', false), undefined, 'single-hop and multihop sessions are distinct');
  await peer.send(packet({ state: BfdState.Init, yourDiscriminator: s.localDiscr }), mport, 249);
  await waitFor('the TTL discard', () => a.discards.get(DemuxDiscard.Ttl) === 1, { timeoutMs: 2000, intervalMs: 2 });
  t.equal(s.state, BfdState.Down, 'TTL 249 < 250 discarded');
  await peer.send(packet({ state: BfdState.Init, yourDiscriminator: s.localDiscr }), mport, 250);
  await waitFor('Up', () => s.up, { timeoutMs: 2000, intervalMs: 2 });
  t.pass('TTL 250 accepted');
  t.equal(a.listenPort(false, 4), undefined, 'no single-hop socket is opened for multihop sessions only');
  t.equal(a.listenPort(true, 4), mport);
});

t.test('multihop: a changed minimumTtl applies to the running session, without a reset', async (t) => {
  const port = await freeUdpPort();
  const mport = await freeUdpPort();
  const ports = { singleHop: port, multihop: mport };
  const a = new BfdManager({ log, listenPorts: ports, peerPorts: ports, listenAddresses: { ipv4: '127.0.0.1' } });
  const peer = await scriptedPeer('127.0.0.2', port, mport);
  t.teardown(async () => {
    await a.close();
    peer.close();
  });
  const s = await a.ensureSession(cfg('127.0.0.2', '127.0.0.1', { multihop: true, minimumTtl: 250 }));
  await peer.send(packet({ state: BfdState.Init, yourDiscriminator: s.localDiscr }), mport, 252);
  await waitFor('Up at TTL 252 (minimum 250)', () => s.up, { timeoutMs: 2000, intervalMs: 2 });
  const again = await a.ensureSession(cfg('127.0.0.2', '127.0.0.1', { multihop: true, minimumTtl: 254 }));
  t.equal(again, s, 'the same session');
  t.equal(s.state, BfdState.Up, 'still Up: a new minimumTtl is no reset');
  await peer.send(packet({ state: BfdState.Down, yourDiscriminator: s.localDiscr }), mport, 252);
  await waitFor('the TTL discard', () => a.discards.get(DemuxDiscard.Ttl) === 1, { timeoutMs: 2000, intervalMs: 2 });
  t.equal(s.state, BfdState.Up, 'a Down at TTL 252 is now below the minimum of 254: discarded');
  await peer.send(packet({ state: BfdState.Down, yourDiscriminator: s.localDiscr }), mport, 254);
  await waitFor('Down', () => s.state === BfdState.Down, { timeoutMs: 2000, intervalMs: 2 });
  t.pass('the same Down at TTL 254 is accepted');
});

t.test('passive session sends nothing until spoken to', async (t) => {
  const port = await freeUdpPort();
  const ports = { singleHop: port, multihop: port };
  const a = new BfdManager({ log, listenPorts: ports, peerPorts: ports, listenAddresses: { ipv4: '127.0.0.1' } });
  const peer = await scriptedPeer('127.0.0.2', port);
  t.teardown(async () => {
    await a.close();
    peer.close();
  });
  const s = await a.ensureSession(cfg('127.0.0.2', '127.0.0.1', { params: { ...fast, passive: true } }));
  // A sentinel: the peer's own packet to itself comes back through the same path, so once it
  // is heard any packet A had sent would have been heard too.
  await peer.send(packet({}), port, 255, '127.0.0.2');
  await waitFor('the sentinel', () => peer.heard.length === 1, { timeoutMs: 2000, intervalMs: 2 });
  t.equal(peer.heard[0]!.srcAddress, '127.0.0.2', 'only the sentinel: A stayed silent');
  await peer.send(packet({ state: BfdState.Down }), port);
  await waitFor('A answers Init', () => peer.heard.some((d) => d.packet?.state === BfdState.Init), { timeoutMs: 2000, intervalMs: 2 });
  t.equal(s.state, BfdState.Init);
});
