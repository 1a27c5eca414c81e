/**
 * The NDP responder behind an MLD-snooping bridge (audit finding A). The lab's bridge normally
 * runs with snooping off and floods every solicited-node NS; here it snoops and is its own querier,
 * as most managed switches are, so `ff02::1:ffXX:XXXX` reaches only ports that sent an MLD report.
 * The announcer must join the group at the IP layer (upstream: conn.JoinGroup in ndp.go), or the
 * router's NS for the VIP never reaches the node. RFC 4861 §7.2.1.
 */
import t from 'tap';
import { createLab, delay, waitFor, type Lab } from '../harness/lab';
import { startProc, type ProcClient } from '../fixtures/arp/proc-client';

const VIP6 = 'fd00:77::100';
/** Solicited-node group of VIP6 (RFC 4291 §2.7.1). */
const VIP6_GROUP = 'ff02::1:ff00:100';
/** Solicited-node group of node 1's own fd00:77::11. */
const NODE_GROUP = 'ff02::1:ff00:11';
/**
 * One unsolicited NA at announce and no refresh during the test: a burst NA arriving while the
 * router's entry is INCOMPLETE would resolve it without any NS getting through.
 */
const GARP = { burstCount: 1, burstIntervalMs: 1000, refreshIntervalMs: 600_000 };
/** mcast_query_response_interval set below, plus a margin. */
const QUERIER_DELAY_MS = 1500;

let lab: Lab;
let n1: ProcClient;

interface MdbEntry {
  port: string;
  grp: string;
}

/** Groups the router's bridge has learned from MLD reports, as `port grp`. */
async function mdb(): Promise<string[]> {
  const out = JSON.parse(await lab.run(lab.router, ['bridge', '-j', 'mdb', 'show', 'dev', 'br0'])) as Array<{ mdb?: MdbEntry[] }>;
  return out.flatMap((x) => x.mdb ?? []).map((e) => `${e.port} ${e.grp}`);
}

t.before(async () => {
  lab = await createLab({ nodes: 1, name: 'mld' });
  await lab.addVip(0, VIP6);
  // Snooping with the bridge as querier. The kernel floods unknown groups for one query response
  // interval after the querier starts (the `delay_timer`), so shorten that to 1 s (centiseconds)
  // first: one command would apply the querier before the interval (br_changelink order).
  await lab.run(lab.router, ['ip', 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '1', 'mcast_query_response_interval', '100']);
  await lab.run(lab.router, ['ip', 'link', 'set', 'br0', 'type', 'bridge', 'mcast_querier', '1']);
  const floodingUntil = Date.now() + QUERIER_DELAY_MS;
  // The querier's first general query makes the node report its own groups: snooping is live.
  await waitFor('the bridge to learn node 1 group from an MLD report', async () => (await mdb()).includes(`${lab.nodes[0]!.port} ${NODE_GROUP}`), {
    timeoutMs: 10_000,
  });
  n1 = await startProc(lab.nodes[0]!.ns, 'test/fixtures/arp/announcer-proc.ts', { garp: GARP }, (pid) => lab.trackPid(pid));
  // Until the delay is over the bridge floods and the ping below would pass without any MLD
  // report. iproute2 6.1 does not show the querier state, so wait out the (usually past) rest.
  await delay(Math.max(0, floodingUntil - Date.now()));
});
t.teardown(() => lab?.destroy());

t.test('announcing an IPv6 VIP sends an MLD report for its solicited-node group; the router resolves it', async (t) => {
  const node1 = lab.nodes[0]!;
  t.same(await n1.call('announce', { ip: VIP6 }), { ok: true, interfaces: ['eth0'] });
  await waitFor(`the bridge to learn ${VIP6_GROUP} on ${node1.port}`, async () => (await mdb()).includes(`${node1.port} ${VIP6_GROUP}`), {
    timeoutMs: 5000,
  });
  t.pass(`bridge mdb has ${VIP6_GROUP} on ${node1.port}`);
  t.ok((await lab.ping(lab.router, VIP6, { count: 2, waitSec: 2 })).ok, 'ping -6 the VIP through the snooping bridge');
  t.equal((await lab.neighbors(lab.router, 'ipv6')).find((n) => n.dst === VIP6)?.lladdr, node1.mac, 'router resolved the VIP to node 1');
});

t.test('withdrawing the VIP leaves the group (MLD Done): the bridge forgets it', async (t) => {
  const node1 = lab.nodes[0]!;
  await n1.call('withdraw', { ip: VIP6 });
  // The querier answers a Done with group-specific queries; the entry goes after ~2 s unanswered.
  await waitFor(`the bridge to drop ${VIP6_GROUP}`, async () => !(await mdb()).includes(`${node1.port} ${VIP6_GROUP}`), {
    timeoutMs: 10_000,
  });
  t.ok((await mdb()).includes(`${node1.port} ${NODE_GROUP}`), 'the node kept its own groups');
});
