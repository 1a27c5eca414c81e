// End to end, L2 link flap (docs/speaker.md, "Split-brain guard"). A node's LAN link goes down
// for a few seconds while its speaker keeps running and keeps its API connection. Its successors
// see it dead on the wire and take its VIPs; it, in turn, sees them dead and may take theirs.
// Once the link is back, every VIP must again be answered by exactly one MAC, the one its Lease
// names, within a few seconds: two nodes defending one VIP against each other would split the
// clients' ARP caches for as long as it lasts.
import t from 'tap';
import { delay, waitFor } from '../harness/lab';
import { createService, nodeIndex, startL2Scenario, vipLease, waitHolder } from '../fixtures/e2e/kit';
import { probeL2 } from '../../bench/soak/probes';

/** Services besides the scenario's own: enough that each node holds some VIPs and succeeds others. */
const EXTRA_SERVICES = 5;
/** How long the link stays down: several probe detection times, below the Lease duration. */
const LINK_DOWN_MS = 4_500;
/** After the link is back, one answering MAC per VIP within this bound. */
const SETTLE_BOUND_MS = 10_000;

t.test('link flap of a holder: afterwards each VIP has exactly one answering MAC, its holder', async (t) => {
  const { c, ips } = await startL2Scenario(t, { dualStack: true });
  const all = [...ips];
  for (let i = 1; i <= EXTRA_SERVICES; i++) {
    const name = `web${i}`;
    await createService(c, 'demo', name, { dualStack: true });
    await c.setEndpoints('demo', name, c.lab.nodes.map((n) => n.name));
    const got = await c.waitForIngress('demo', name, 60_000);
    for (const ip of got) for (const n of c.lab.nodes) await c.lab.addVip(n.index, ip);
    all.push(...got);
  }
  const holders = new Map<string, string>();
  for (const ip of all) holders.set(ip, await waitHolder(c, ip));
  const transitions = async (ip: string): Promise<number> => (await vipLease(c, ip))?.transitions ?? 0;
  const before = new Map<string, number>();
  for (const ip of all) before.set(ip, await transitions(ip));
  t.comment(`holders before: ${JSON.stringify(Object.fromEntries(holders))}`);
  const victim = holders.get(all[0]!)!;
  const v = nodeIndex(c, victim);

  await c.lab.linkDown(v);
  await delay(LINK_DOWN_MS);
  const during = new Map<string, string>();
  const moved: string[] = [];
  for (const ip of all) {
    during.set(ip, (await vipLease(c, ip))?.holder ?? '');
    if (holders.get(ip) !== victim && (await transitions(ip)) !== before.get(ip)) moved.push(ip);
  }
  await c.lab.linkUp(v);
  const upAt = Date.now();
  t.comment(`${victim}'s link was down for ${LINK_DOWN_MS} ms; holders then: ${JSON.stringify(Object.fromEntries(during))}`);
  // Its probes went out on a link without carrier: no evidence, so no takeover (not even one
  // taken back a moment later, which the Lease's transition count would show).
  t.same(moved, [], `${victim}, cut off from the LAN, took no VIP from the nodes it could not hear`);

  // One probe round covers every VIP at once (about 1 s); a VIP is settled at the first round in
  // which exactly its Lease holder's MAC answers.
  const settledAt = new Map<string, number>();
  const last = new Map<string, string>();
  await waitFor(
    'every VIP answered by exactly its holder',
    async () => {
      const macs = await probeL2(c, all.filter((ip) => !settledAt.has(ip)));
      for (const [ip, set] of macs) {
        const holder = (await vipLease(c, ip))?.holder ?? '';
        const holderMac = holder ? c.lab.nodes[nodeIndex(c, holder)]!.mac.toLowerCase() : '';
        last.set(ip, `holder ${holder || '(none)'}, answering ${[...set].join(',') || '(none)'}`);
        if (set.size === 1 && set.has(holderMac)) settledAt.set(ip, Date.now());
      }
      return settledAt.size === all.length ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  ).catch(() => undefined);
  for (const ip of all) {
    const at = settledAt.get(ip);
    const ms = at === undefined ? Infinity : at - upAt;
    t.ok(ms < SETTLE_BOUND_MS, `${ip}: one MAC, its holder's, ${ms} ms after the link came back (${last.get(ip) ?? ''})`);
  }
});
