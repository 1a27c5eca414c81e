/**
 * Multihop BFD (RFC 5883, UDP 4784) between our speaker and FRR 8.4's bfdd two IP hops apart.
 * The node reaches FRR's address 10.78.0.2 (on the client namespace's lo) through the router
 * namespace, which forwards and sends no redirects; FRR reaches the node the same way back, so
 * every packet crosses one router in each direction (TTL 255 leaves, 254 arrives). The BGPPeer
 * has `ebgpMultiHop: true` and a BFDProfile; FRR has `neighbor X ebgp-multihop` + `neighbor X bfd`
 * and a bfdd `peer X multihop local-address Y` with the same timers.
 *
 * Shown: the session is Up on both sides on port 4784 with the TTLs above; our multihop GTSM check
 * is the profile's minimumTtl (RFC 5883 §5 drops the single-hop TTL 255 rule): a forged Down that
 * arrives with TTL 253 is discarded under minimumTtl 254, and the same packet is accepted once the
 * profile says 253; cutting the router's link towards FRR (our own link stays up) takes our side
 * Down with diag 1 within the detection time and closes the BGP session, so FRR drops our route;
 * when the link returns, BFD, BGP and the route come back.
 */
import t from 'tap';
import { startCluster, RELEASE_NAMESPACE, type Cluster } from '../harness/cluster';
import { waitFor, type Frame, type LabNode } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import { encode } from '../../src/bfd/codec';
import { controlPacket } from '../fixtures/bfd/packets';
import { createService } from '../fixtures/e2e/kit';
import { BGP_POOL_YAML, FRR_ASN, OUR_ASN, waitHeldForBfd, yamlDocs } from '../fixtures/e2e/bfd-scenario';
import { speakerEvents, type SpeakerLogEvent } from '../fixtures/e2e/speaker-log';

/** FRR's BGP and BFD address, off every subnet of the node. */
const FAR = '10.78.0.2';
const MULTIHOP_PORT = 4784;
/** 200 ms x 3: a silent peer is declared down 600 ms after its last packet. */
const INTERVAL_MS = 200;
const MULT = 3;
const DETECTION_MS = INTERVAL_MS * MULT;
/** Scheduling slack on a shared 2-core machine (timers, log write); the figure is printed. */
const SLACK_MS = 400;

const profileYaml = (minimumTtl: number): string => `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: { name: multihop, namespace: ${RELEASE_NAMESPACE} }
spec: { receiveInterval: ${INTERVAL_MS}, transmitInterval: ${INTERVAL_MS}, detectMultiplier: ${MULT}, minimumTtl: ${minimumTtl} }
`;

const PEER_YAML = `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: far, namespace: ${RELEASE_NAMESPACE} }
spec: { myASN: ${OUR_ASN}, peerASN: ${FRR_ASN}, peerAddress: ${FAR}, connectTime: 1s, ebgpMultiHop: true, bfdProfile: multihop }
`;

/** TTL and ports of an IPv4/UDP frame, read from its headers. */
function udpOf(f: Frame): { ttl: number; srcPort: number; dstPort: number } | undefined {
  if (f.ipv4?.protocol !== 17) return undefined;
  const ip = f.raw.subarray(14);
  const ihl = (ip[0]! & 0x0f) * 4;
  return { ttl: ip[8]!, srcPort: ip.readUInt16BE(ihl), dstPort: ip.readUInt16BE(ihl + 2) };
}

/** node -> router -> client and back: both directions cross the router, which sends no redirects. */
async function twoHops(c: Cluster, node: LabNode): Promise<void> {
  const { router } = c.lab;
  const client = c.lab.client!;
  await c.lab.run(router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.br0.send_redirects=0']);
  for (const host of [node, client]) {
    await c.lab.run(host, ['sysctl', '-qw', 'net.ipv4.conf.all.accept_redirects=0', 'net.ipv4.conf.eth0.accept_redirects=0']);
  }
  await c.lab.run(client, ['ip', 'addr', 'add', `${FAR}/32`, 'dev', 'lo']);
  await c.lab.addRoute(router, `${FAR}/32`, client.ipv4);
  await c.lab.addRoute(node, '10.78.0.0/24', router.ipv4);
  // Without this the client would answer the node straight over the shared bridge (one hop).
  await c.lab.addRoute(client, `${node.ipv4}/32`, router.ipv4);
}

t.test('multihop BFD against FRR bfdd two hops away', async (t) => {
  const c = await startCluster(t, { nodes: 1, client: true });
  const node = c.lab.nodes[0]!;
  const client = c.lab.client!;
  await twoHops(c, node);
  const trace = await c.lab.run(node, ['ip', 'route', 'get', FAR]);
  t.match(trace, new RegExp(`via ${c.lab.router.ipv4.replace(/\./g, '\\.')}`), `the node reaches ${FAR} through the router: ${trace.trim()}`);

  const frr = await startFrr(c.lab, {
    asn: FRR_ASN,
    routerId: FAR,
    ns: client.ns,
    name: 'frr-far',
    // Passive: the session is the one our speaker opens from the node's address, with TTL 255.
    neighbors: [{ address: node.ipv4, remoteAs: OUR_ASN, multihop: 255, passive: true, families: ['ipv4'] }],
    bgpExtra: ` neighbor ${node.ipv4} bfd`,
    bfdPeers: [{ address: node.ipv4, localAddress: FAR, multihop: true, receiveIntervalMs: INTERVAL_MS, transmitIntervalMs: INTERVAL_MS, detectMultiplier: MULT }],
  });
  const capture = await c.lab.capture(node, 'eth0', `udp port ${MULTIHOP_PORT}`);
  await c.apply(yamlDocs(profileYaml(254), PEER_YAML, BGP_POOL_YAML));
  await c.startController();
  await c.startSpeaker(0);
  await createService(c, 'demo', 'routed', { pool: 'bgp' });
  await c.setEndpoints('demo', 'routed', [node.name]);
  const [vip] = await c.waitForIngress('demo', 'routed', 60_000);
  const prefix = `${vip}/32`;

  /** Our session's transitions out of Up at or after `sinceMs`. */
  const ourDowns = (sinceMs: number): SpeakerLogEvent[] => speakerEvents(c.lab.dir, 'bfdStateChange').filter((e) => e['from'] === 'Up' && e.time >= sinceMs);
  const waitOurDown = (what: string, sinceMs: number): Promise<SpeakerLogEvent> =>
    waitFor(what, async () => ourDowns(sinceMs)[0], { timeoutMs: 10_000, intervalMs: 20 });
  const waitAllUp = async (): Promise<void> => {
    await frr.waitBfdPeer(node.ipv4, 'up', 30_000);
    await frr.waitEstablished(node.ipv4, 60_000);
    await frr.waitRoute(prefix, undefined, 30_000);
  };

  t.test('Up on both sides on port 4784, one router in each direction', async (t) => {
    await waitAllUp();
    const peer = (await frr.bfdPeers()).find((p) => p.peer === node.ipv4);
    t.match(peer, { status: 'up', multihop: true, local: FAR }, 'bfdd: a multihop session from FRR address to the node, up');
    t.equal(peer?.['remote-receive-interval'], INTERVAL_MS, "bfdd sees our profile's receive interval");
    t.equal(peer?.['remote-detect-multiplier'], MULT);
    t.pass(`BGP Established with ebgp-multihop, ${prefix} in FRR's table`);

    const ours = await c.lab.run(node, ['ss', '-Hlun']);
    t.match(ours, new RegExp(`:${MULTIHOP_PORT}\\s`), `the speaker listens on UDP ${MULTIHOP_PORT}`);
    t.notMatch(ours, /:3784\s/, 'and opened no single-hop socket for a multihop-only peer');
    const theirs = await c.lab.run(client, ['ss', '-Hlun']);
    t.match(theirs, new RegExp(`:${MULTIHOP_PORT}\\s`), `bfdd listens on UDP ${MULTIHOP_PORT}`);

    const frames = await capture.waitFrame((f) => f.ipv4?.src === FAR && udpOf(f)?.dstPort === MULTIHOP_PORT, 5000, 'a BFD packet from FRR');
    const out = await capture.waitFrame((f) => f.ipv4?.dst === FAR && udpOf(f)?.dstPort === MULTIHOP_PORT, 5000, 'a BFD packet to FRR');
    t.equal(udpOf(frames)?.ttl, 254, "FRR's packets arrive with TTL 254: one router on the way");
    t.equal(udpOf(out)?.ttl, 255, 'ours leave with TTL 255');
    const srcPort = udpOf(out)!.srcPort;
    t.ok(srcPort >= 49152 && srcPort <= 65535, `from source port ${srcPort} in 49152-65535 (RFC 5881 §4, as RFC 5883 §5 asks)`);
    // FRR polls its rate down from 1 s right after Up; our transmit timer must follow at once.
    t.same(ourDowns(0), [], 'no flap since the session first came Up');
  });

  t.test("GTSM for multihop: the profile's minimumTtl decides, not TTL 255", async (t) => {
    const peer = await frr.waitBfdPeer(node.ipv4, 'up', 30_000);
    const ourDiscr = peer['remote-id']!;
    // A Down naming our session, from FRR's address: accepted, it would take us Down.
    const forged = encode(controlPacket({ diag: 1, myDiscriminator: peer.id ?? 1, yourDiscriminator: ourDiscr })).toString('hex');
    const sendForged = async (ttl: number): Promise<void> => {
      const script = [
        "const s = require('node:dgram').createSocket('udp4');",
        `s.bind(0, '${FAR}', () => {`,
        `  s.setTTL(${ttl});`,
        `  s.send(Buffer.from('${forged}', 'hex'), ${MULTIHOP_PORT}, '${node.ipv4}', () => s.close());`,
        '});',
      ].join('\n');
      await c.lab.run(client, [process.execPath, '-e', script]);
    };

    const t0 = Date.now();
    await sendForged(254);
    const discard = await waitFor(
      'the speaker to discard the forged packet for its TTL',
      async () => speakerEvents(c.lab.dir, 'bfdDiscard').find((e) => e.time >= t0 && e['reason'] === 'ttl'),
      { timeoutMs: 5000, intervalMs: 20 },
    );
    t.equal(discard['ttl'], 253, 'it arrived with TTL 253');
    t.equal(discard['detail'], 'multihop packet with TTL 253, minimum 254', 'below the profile minimumTtl 254');
    t.same(ourDowns(t0), [], 'our session stayed Up');
    t.equal((await frr.bfdPeers()).find((p) => p.peer === node.ipv4)?.status, 'up', 'and so did bfdd');

    // Lower the profile's minimumTtl on the running session: the same packet now gets through.
    // The speaker applies the profile a moment after the apiserver has it, so the packet is sent
    // again until it is accepted (each earlier one is discarded as above).
    await c.apply(profileYaml(253));
    const down = await waitFor(
      'the forged Down to be accepted under minimumTtl 253',
      async () => {
        const accepted = ourDowns(t0)[0];
        if (accepted === undefined) await sendForged(254);
        return accepted;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    t.equal(down['diag'], 3, 'accepted under minimumTtl 253: Down with diag 3, neighbor signaled session down');
    await waitAllUp();
    t.pass('BFD, BGP and the route back after the forged Down');
    t.equal(speakerEvents(c.lab.dir, 'bfdSessionAdded').length, 1, 'the profile change retuned the session, it did not replace it');
  });

  t.test("the router's link towards FRR cut: Down within the detection time, routes withdrawn; back when it returns", async (t) => {
    await waitAllUp();
    const t0 = Date.now();
    // The middle router loses its port to the FRR namespace; the node's own link stays up.
    await c.lab.run(c.lab.router, ['ip', 'link', 'set', 'cl', 'down']);
    const down = await waitOurDown('our BFD session Down after the cut', t0);
    t.equal(down['diag'], 1, 'diag 1: control detection time expired');
    const ms = down.time - t0;
    t.comment(`cut -> our BFD Down: ${ms} ms (detection time ${DETECTION_MS} ms)`);
    t.ok(ms <= DETECTION_MS + SLACK_MS, `Down ${ms} ms after the cut (detection ${DETECTION_MS} ms + ${SLACK_MS} ms slack)`);
    const held = await waitHeldForBfd(c, t0);
    t.ok(held.time - t0 <= DETECTION_MS + SLACK_MS, `our BGP session closed ${held.time - t0} ms after the cut: our routes withdrawn`);
    await frr.waitBfdPeer(node.ipv4, 'down', 5000);
    await frr.waitRouteGone(prefix, 5000);
    t.comment(`cut -> ${prefix} gone from FRR's table (polled): ${Date.now() - t0} ms`);
    t.pass("FRR's bfdd is down too and its table has lost our route, long before the hold time");

    await c.lab.run(c.lab.router, ['ip', 'link', 'set', 'cl', 'up']);
    await waitAllUp();
    t.pass('link back: BFD Up on FRR, BGP Established, the route again');
    const released = speakerEvents(c.lab.dir, 'bgpReleasedByBfd').filter((e) => e.time >= t0);
    t.ok(released.length >= 1, 'the speaker released the BGP session on BFD Up');
  });
});
