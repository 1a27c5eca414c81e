// End to end, L2 partition (docs/architecture.md §7). The holder loses the API server (its
// apiserver bridge is killed) but stays on the LAN and keeps answering. Once its Lease expires, its
// successor takes the Lease and announces; the stale holder sees the successor's gratuitous ARP and
// yields, so within 1 s of the takeover exactly one MAC answers for the VIP.
import t from 'tap';
import { delay, waitFor } from '../harness/lab';
import { arpingMacs, nodeIndex, startL2Scenario, vipLease, waitHolder, waitPresence } from '../fixtures/e2e/kit';

t.test('partition: the holder is cut from the API server but stays on the LAN', async (t) => {
  const { c, ip } = await startL2Scenario(t);
  const holder = await waitHolder(c, ip);
  const h = nodeIndex(c, holder);
  const before = await arpingMacs(c, ip);
  t.same(before.macs, [c.lab.nodes[h]!.mac], `before the partition only ${holder} answers: ${before.output}`);

  const cutAt = Date.now();
  await c.stopBridge(h);
  t.comment(`cut ${holder} from the API server at ${new Date(cutAt).toISOString()}`);
  // Poll the Lease (through the admin's own connection) until another node holds it.
  let takenAt = 0;
  const successor = await waitFor(
    `another node to take the Lease of ${ip} from ${holder}`,
    async () => {
      const l = await vipLease(c, ip);
      if (l && l.holder !== '' && l.holder !== holder) {
        takenAt = Date.now();
        return l.holder;
      }
      return undefined;
    },
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  t.comment(`${successor} took the Lease ${takenAt - cutAt} ms after the cut`);
  t.not(successor, holder, 'a successor holds the Lease');

  // The claim is about the state 1 s after the takeover: wait for that moment, then ask.
  await delay(Math.max(0, takenAt + 1000 - Date.now()));
  const after = await arpingMacs(c, ip, 3);
  t.same(after.macs, [c.lab.nodes[nodeIndex(c, successor)]!.mac], `1 s after the takeover exactly ${successor}'s MAC answers: ${after.output}`);
  const reached = await c.connect(c.lab.client!.ns, ip, 2000);
  t.equal(reached, successor, `traffic reaches ${successor}`);

  // Healing the partition does not flap the VIP back: placement is stable.
  await c.startBridge(h);
  const healedAt = Date.now();
  await waitPresence(c, h, healedAt);
  const settled = await arpingMacs(c, ip, 3);
  t.same(settled.macs, [c.lab.nodes[nodeIndex(c, successor)]!.mac], `after healing still only ${successor} answers: ${settled.output}`);
  t.equal((await vipLease(c, ip))?.holder, successor, 'the Lease stays with the successor');
});
