// End to end, API outage (docs/speaker.md): the API server is stopped for 30 s. Nothing may change
// on the network: the L2 VIP keeps answering from the same node (a client connects in a loop
// throughout), no BGP route is withdrawn and no session drops (FRR's table and connection counters
// are watched); after the restart everything reconciles with no flap (same Lease holder, no new
// Lease transition, same MAC, same routes, same ingress IPs).
import t from 'tap';
import { startCluster } from '../harness/cluster';
import { startFrr, type FrrHandle } from '../harness/routers/frr';
import { delay, waitFor } from '../harness/lab';
import { arpingMacs, createService, FAST_ELECTION, nodeIndex, readLease, startConnectLoop, vipLease, waitHolder } from '../fixtures/e2e/kit';
import { presenceLeaseName } from '../../src/speaker/lease-store';
import { labConfig, toYaml } from '../fixtures/manifests/metallb-config';

const OUTAGE_MS = 30_000;

/** Peers FRR has a valid path from, for one prefix, plus each session's connection count. */
async function bgpState(frr: FrrHandle, prefix: string, peers: readonly string[]): Promise<string> {
  const paths = (await frr.bgpTable('ipv4'))[prefix] ?? [];
  const from = paths.filter((p) => p.valid === true).map((p) => p.peerId ?? '').sort();
  const sessions: string[] = [];
  for (const a of peers) {
    const n = await frr.neighbor(a);
    sessions.push(`${a}:${n?.bgpState}:${String(n?.connectionsEstablished)}`);
  }
  return JSON.stringify({ from, sessions });
}

t.test('API server down for 30 s: nothing stops answering, nothing is withdrawn, no flap after', async (t) => {
  const c = await startCluster(t, { nodes: 3, client: true, speakerArgs: FAST_ELECTION });
  const nodes = c.lab.nodes;
  const frr = await startFrr(c.lab, { asn: 64501, routerId: c.lab.router.ipv4, neighbors: nodes.map((n) => ({ address: n.ipv4, remoteAs: 64500, families: ['ipv4' as const] })) });
  // The lab's L2 set, and a BGP pool advertised to the router.
  await c.apply(toYaml([...labConfig(), ...labConfig({ pool: 'bgp', addresses: ['10.77.0.200-10.77.0.210'], l2: false, bgp: {} })]));
  await c.startController();
  for (let i = 0; i < 3; i++) await c.startSpeaker(i);
  await createService(c, 'demo', 'l2', { pool: 'lab' });
  await createService(c, 'demo', 'bgp', { pool: 'bgp' });
  await c.setEndpoints('demo', 'l2', nodes.map((n) => n.name));
  await c.setEndpoints('demo', 'bgp', nodes.map((n) => n.name));
  const [l2ip] = await c.waitForIngress('demo', 'l2', 60_000);
  const [bgpip] = await c.waitForIngress('demo', 'bgp', 60_000);
  for (const n of nodes) await c.lab.addVip(n.index, l2ip!);
  const prefix = `${bgpip}/32`;
  const peers = nodes.map((n) => n.ipv4);
  await frr.waitRoute(prefix, (paths) => paths.filter((p) => p.valid === true).length === 3, 60_000);

  const holder = await waitHolder(c, l2ip!);
  const holderMac = nodes[nodeIndex(c, holder)]!.mac;
  const loop = await startConnectLoop(c, l2ip!, { intervalMs: 50, timeoutMs: 1000 });
  await loop.waitAttempt(`a connect to ${l2ip} reaching ${holder}`, (a) => a.ok && a.node === holder);
  const leaseBefore = (await vipLease(c, l2ip!))!;
  const bgpBefore = await bgpState(frr, prefix, peers);
  t.comment(`before: L2 ${l2ip} held by ${holder} (${holderMac}), BGP ${bgpBefore}`);
  const start = Date.now();

  await c.cp.stopApiserver();
  const downAt = Date.now();
  t.comment('apiserver stopped');
  const deviations: string[] = [];
  while (Date.now() - downAt < OUTAGE_MS) {
    const now = await bgpState(frr, prefix, peers);
    if (now !== bgpBefore) deviations.push(`${Date.now() - downAt} ms: ${now}`);
    await delay(500);
  }
  const during = await arpingMacs(c, l2ip!);
  await c.cp.startApiserver();
  const upAt = Date.now();
  t.comment(`apiserver back after ${upAt - downAt} ms`);
  t.same(deviations, [], 'FRR kept every path and every session through the outage');
  t.same(during.macs, [holderMac], `during the outage only ${holder} answers ARP: ${during.output}`);

  // Reconciled: every speaker renewed its presence after the restart (VIP Leases are written
  // only when ownership changes; the holder's presence keeps its hold). The VIP Lease still names
  // the holder.
  t.equal((await vipLease(c, l2ip!))?.holder, holder, `${holder} still holds ${l2ip} after the restart`);
  for (const n of nodes) {
    await waitFor(`${n.name}'s presence renewed after the restart`, async () => {
      const l = await readLease(c, presenceLeaseName(n.name));
      return l !== undefined && l.holder === n.name && Date.parse(l.renewTime) >= upAt - 1000;
    }, { timeoutMs: 60_000, intervalMs: 200 });
  }
  // Watch for a late flap for longer than a lease duration (6 s) after the restart.
  await loop.waitAttempt('connect attempts 8 s after the restart', (a) => a.s >= upAt + 8000, 60_000);
  await loop.stop();
  const window = loop.attempts.filter((a) => a.s >= start);
  const failed = window.filter((a) => !a.ok);
  const elsewhere = window.filter((a) => a.ok && a.node !== holder);
  t.comment(`${window.length} connects from before the outage to 8 s after it, ${failed.length} failed, ${elsewhere.length} reached another node`);
  t.same(failed, [], 'no connect failed');
  t.same(elsewhere, [], `every connect reached ${holder}`);

  const leaseAfter = (await vipLease(c, l2ip!))!;
  t.equal(leaseAfter.holder, holder, 'same Lease holder after the restart');
  t.equal(leaseAfter.transitions, leaseBefore.transitions, 'no Lease transition happened');
  const after = await arpingMacs(c, l2ip!, 3);
  t.same(after.macs, [holderMac], `after the restart only ${holder} answers ARP: ${after.output}`);
  t.equal(await bgpState(frr, prefix, peers), bgpBefore, 'same BGP paths and sessions after the restart');
  t.same(await c.waitForIngress('demo', 'l2'), [l2ip], 'the L2 Service kept its IP');
  t.same(await c.waitForIngress('demo', 'bgp'), [bgpip], 'the BGP Service kept its IP');
});
