/**
 * Our BFD (a child process in a node namespace) against FRR 8.4's bfdd in the router namespace,
 * both at 300 ms x 3: the session comes Up on both sides with the negotiated timers; a cut link
 * and a frozen bfdd (SIGSTOP) are detected with diag 1 and the session recovers; a packet sent
 * with TTL 254 is discarded by the single-hop GTSM check while one with TTL 255 gets through;
 * removing our session tells bfdd AdminDown. The cut-to-down figure asserted here is generous
 * (< 2 s); bench/bfd-detect.ts measures it tightly.
 */
import t, { type Test } from 'tap';
import { encode } from '../../src/bfd/codec';
import type { BfdSessionConfig } from '../../src/bfd/bfd-session';
import { createLab } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import { signalPid } from '../harness/lab-exec';
import { startJsonProc, type SpeakerProc } from '../fixtures/bgp/speaker-driver';
import { controlPacket } from '../fixtures/bfd/packets';

const PROC = 'test/fixtures/bfd/bfd-proc.ts';
const now = (): number => performance.timeOrigin + performance.now();

/** Ask the process for its status and return the answer. */
async function status(p: SpeakerProc): Promise<{ sessions: { state: string; localDiscr: number }[]; discards: Record<string, number> }> {
  const from = p.events.length;
  p.send({ cmd: 'status' });
  const e = await p.waitEvent('status', (x) => x.event === 'status', 5000, from);
  return e as unknown as { sessions: { state: string; localDiscr: number }[]; discards: Record<string, number> };
}

t.test('BFD against FRR bfdd', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'bfd-frr' });
  t.teardown(() => lab.destroy());
  const node = lab.nodes[0]!;
  const router = lab.router;
  const frr = await startFrr(lab, {
    asn: 64501,
    routerId: router.ipv4,
    bfdPeers: [{ address: node.ipv4, localAddress: router.ipv4, receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 }],
  });
  const config: BfdSessionConfig = {
    peerAddress: router.ipv4,
    localAddress: node.ipv4,
    multihop: false,
    params: { desiredMinTxMs: 300, requiredMinRxMs: 300, detectMult: 3, passive: false },
    minimumTtl: 254,
  };
  const bfd = startJsonProc(lab, node.ns, PROC, { sessions: [config] }, 'bfd');
  t.teardown(() => bfd.kill('SIGKILL'));

  const waitUp = async (from: number): Promise<void> => {
    await bfd.waitEvent('our session Up', (e) => e.event === 'up', 15_000, from);
    await frr.waitBfdPeer(node.ipv4, 'up', 15_000);
  };
  /** Time from `cut()` to our 'down' event; the event must carry diag 1. */
  const measureDown = async (tt: Test, cut: () => Promise<void>): Promise<number> => {
    const from = bfd.events.length;
    const t0 = now();
    await cut();
    const down = await bfd.waitEvent('our session Down', (e) => e.event === 'down', 10_000, from);
    tt.equal(down['diag'], 1, 'diag 1: control detection time expired');
    return down.t - t0;
  };

  t.test('Up on both sides with 300 ms x 3 negotiated', async (t) => {
    await waitUp(0);
    const [peer] = (await frr.bfdPeers()).filter((p) => p.peer === node.ipv4);
    const ours = (await status(bfd)).sessions[0]!;
    t.equal(peer?.status, 'up');
    t.equal(peer?.['remote-id'], ours.localDiscr, "bfdd knows our discriminator");
    t.equal(peer?.['remote-receive-interval'], 300, 'bfdd sees our 300 ms RX');
    t.equal(peer?.['remote-transmit-interval'], 300, 'and our 300 ms TX, after our Poll Sequence');
    t.equal(peer?.['remote-detect-multiplier'], 3);
    t.equal(ours.state, 'Up');
  });

  t.test('a cut link is detected and the session recovers', async (t) => {
    const ms = await measureDown(t, () => lab.linkDown(node.index));
    t.ok(ms < 2000, `down ${ms.toFixed(0)} ms after the cut (detection time 900 ms)`);
    await frr.waitBfdPeer(node.ipv4, 'down', 5000);
    const from = bfd.events.length;
    await lab.linkUp(node.index);
    await waitUp(from);
    t.pass('Up again on both sides');
  });

  t.test('a frozen bfdd (SIGSTOP) is detected; SIGCONT brings it back', async (t) => {
    const pid = frr.bfddPid!;
    t.ok(pid > 0);
    const ms = await measureDown(t, async () => signalPid(pid, 'SIGSTOP'));
    t.teardown(() => signalPid(pid, 'SIGCONT'));
    t.ok(ms < 2000, `down ${ms.toFixed(0)} ms after SIGSTOP`);
    const from = bfd.events.length;
    signalPid(pid, 'SIGCONT');
    await waitUp(from);
    t.pass('Up again');
  });

  t.test('single-hop GTSM: TTL 254 is discarded, TTL 255 reaches the demultiplexer', async (t) => {
    const before = await status(bfd);
    const my = before.sessions[0]!.localDiscr;
    // A Down from the router's address naming our session: accepted, it would take us Down.
    const down = controlPacket({ diag: 1, myDiscriminator: 0x5eed, yourDiscriminator: my });
    const forged = encode(down).toString('hex');
    const unknown = encode({ ...down, yourDiscriminator: (my ^ 0xffff) >>> 0 || 1 }).toString('hex');
    const script = [
      "const s = require('node:dgram').createSocket('udp4');",
      `s.bind(0, '${router.ipv4}', () => {`,
      '  s.setTTL(254);',
      `  s.send(Buffer.from('${forged}', 'hex'), 3784, '${node.ipv4}', () => {`,
      '    s.setTTL(255);',
      `    s.send(Buffer.from('${unknown}', 'hex'), 3784, '${node.ipv4}', () => s.close());`,
      '  });',
      '});',
    ].join('\n');
    await lab.run(router, [process.execPath, '-e', script]);
    let after = await status(bfd);
    for (let i = 0; i < 100 && (after.discards['unknownDiscriminator'] ?? 0) <= (before.discards['unknownDiscriminator'] ?? 0); i++) {
      after = await status(bfd);
    }
    t.equal((after.discards['ttl'] ?? 0) - (before.discards['ttl'] ?? 0), 1, 'the TTL 254 packet was discarded for its TTL');
    t.equal((after.discards['unknownDiscriminator'] ?? 0) - (before.discards['unknownDiscriminator'] ?? 0), 1, 'the TTL 255 one got past GTSM');
    t.equal(after.sessions[0]!.state, 'Up', 'the forged Down did not touch the session');
    t.equal((await frr.bfdPeers()).find((p) => p.peer === node.ipv4)?.status, 'up');
  });

  t.test('removing our session tells bfdd AdminDown', async (t) => {
    bfd.send({ cmd: 'remove', peer: router.ipv4 });
    await bfd.waitEvent('removed', (e) => e.event === 'removed', 5000);
    const peer = await frr.waitBfdPeer(node.ipv4, 'down', 5000);
    t.equal(peer['remote-diagnostic'], 'administratively down', "bfdd read our AdminDown's diag 7");
  });
});
