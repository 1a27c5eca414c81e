/**
 * An interface deleted and re-created with the same name and MAC (audit finding B), as a network
 * restart re-creating a bond or bridge does. The kernel unbinds a packet socket from an interface
 * it unregisters, so a socket kept because name and MAC still match hears nothing again; the
 * announcer must notice the new ifindex on its next rescan and open a new socket (upstream keys
 * its responders by ifindex).
 */
import t from 'tap';
import { createLab, waitFor, type Lab } from '../harness/lab';
import { startProc, type ProcClient } from '../fixtures/arp/proc-client';

const VIP4 = '10.77.0.100';
const VIP6 = 'fd00:77::100';
const RESCAN_MS = 300;
/** No gratuitous NA after the first: one arriving while the router's entry is INCOMPLETE would resolve it without an NS. */
const GARP = { burstCount: 1, burstIntervalMs: 1000, refreshIntervalMs: 600_000 };

let lab: Lab;
let n1: ProcClient;

t.before(async () => {
  lab = await createLab({ nodes: 1, name: 'recreate' });
  await lab.addVip(0, VIP4);
  await lab.addVip(0, VIP6);
  n1 = await startProc(lab.nodes[0]!.ns, 'test/fixtures/arp/announcer-proc.ts', { rescanIntervalMs: RESCAN_MS, garp: GARP }, (pid) => lab.trackPid(pid));
});
t.teardown(() => lab?.destroy());

/** MACs that answered a broadcast arping for `ip` from the router (lower case). */
async function arpingMacs(ip: string): Promise<string[]> {
  const r = await lab.exec(lab.router, ['arping', '-b', '-c', '1', '-w', '1', '-I', 'br0', ip]);
  return [...r.stdout.matchAll(/reply from \S+ \[([0-9A-F:]+)\]/gi)].map((m) => m[1]!.toLowerCase());
}

async function ifindex(): Promise<number> {
  const [link] = JSON.parse(await lab.run(lab.nodes[0]!, ['ip', '-j', 'link', 'show', 'eth0'])) as Array<{ ifindex: number }>;
  return link!.ifindex;
}

t.test('after eth0 is re-created with the same name and MAC, the node answers again', async (t) => {
  const node = lab.nodes[0]!;
  t.same(await n1.call('announce', { ip: VIP4 }), { ok: true, interfaces: ['eth0'] });
  t.same(await n1.call('announce', { ip: VIP6 }), { ok: true, interfaces: ['eth0'] });
  t.same(await arpingMacs(VIP4), [node.mac], 'answers before');
  const before = await ifindex();

  // One `ip` process on the node side, so the interface is back (up, same MAC) within
  // milliseconds: a rescan in between would see it gone and hide the bug.
  await lab.run(node, ['ip', '-batch', '-'], {
    input: [
      'link del eth0',
      `link add eth0 address ${node.mac} type veth peer name ${node.port} netns ${lab.router.ns}`,
      `addr add ${node.ipv4}/24 dev eth0`,
      `addr add ${node.ipv6}/64 dev eth0 nodad`,
      'link set eth0 up',
      '',
    ].join('\n'),
  });
  await lab.run(lab.router, ['ip', '-batch', '-'], { input: `link set ${node.port} master br0\nlink set ${node.port} up\n` });
  t.not(await ifindex(), before, 'eth0 is a new interface');

  // A few rescans' worth of time; each arping waits up to 1 s for a reply.
  const macs = await waitFor('node 1 to answer ARP on the re-created eth0', async () => {
    const m = await arpingMacs(VIP4);
    return m.length > 0 && m;
  }, { timeoutMs: 8000 });
  t.same(macs, [node.mac], 'answers ARP again');
  // The router's cached entry (same MAC) would let a ping through without any NS: resolve afresh.
  await lab.run(lab.router, ['ip', '-6', 'neigh', 'flush', 'dev', 'br0']);
  t.ok((await lab.ping(lab.router, VIP6, { count: 2, waitSec: 2 })).ok, 'answers NS again: ping -6 the VIP');
  t.equal((await lab.neighbors(lab.router, 'ipv6')).find((n) => n.dst === VIP6)?.lladdr, node.mac);
});
