// End to end, L2 with externalTrafficPolicy: Local (docs/upstream-behaviour.md §4.2). Only a node
// with a ready local endpoint may announce the VIP; when the endpoint moves to another node, the
// announcer follows (the old node releases its Lease, the new one takes it) and exactly that node's
// MAC answers.
import t from 'tap';
import { startCluster } from '../harness/cluster';
import { waitFor } from '../harness/lab';
import { arpingMacs, createService, FAST_ELECTION, vipLease } from '../fixtures/e2e/kit';
import { labConfig, toYaml } from '../fixtures/manifests/metallb-config';

t.test('externalTrafficPolicy Local: the node with the endpoint announces, and follows it', async (t) => {
  const c = await startCluster(t, { nodes: 3, client: true, speakerArgs: FAST_ELECTION });
  await c.apply(toYaml(labConfig()));
  await c.startController();
  for (let i = 0; i < 3; i++) await c.startSpeaker(i);
  await createService(c, 'demo', 'local', { local: true });
  const [first, second] = [c.lab.nodes[1]!, c.lab.nodes[2]!];
  await c.setEndpoints('demo', 'local', [first.name]);
  const ips = await c.waitForIngress('demo', 'local', 60_000);
  const ip = ips[0]!;
  for (const n of c.lab.nodes) await c.lab.addVip(n.index, ip);

  const expectOwner = async (node: typeof first, what: string): Promise<void> => {
    const holder = await waitFor(`${node.name} to hold the Lease of ${ip}`, async () => ((await vipLease(c, ip))?.holder === node.name ? node.name : undefined), {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    t.equal(holder, node.name, `${what}: the Lease names ${node.name}`);
    // Poll until the client's ARP sees exactly that MAC (the old node may still be finishing its
    // withdrawal a moment after the Lease moved), then check that it stays so.
    const seen = await waitFor(
      `only ${node.name}'s MAC (${node.mac}) answering ARP for ${ip}`,
      async () => {
        const r = await arpingMacs(c, ip);
        return r.macs.length === 1 && r.macs[0] === node.mac ? r : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    t.same(seen.macs, [node.mac], `${what}: exactly ${node.name}'s MAC answers`);
    const again = await arpingMacs(c, ip, 3);
    t.same(again.macs, [node.mac], `${what}: still exactly one MAC: ${again.output}`);
    const reached = await waitFor(`a connect to ${ip} reaching ${node.name}`, async () => ((await c.connect(c.lab.client!.ns, ip, 3000)) === node.name ? node.name : undefined), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    t.equal(reached, node.name, `${what}: traffic reaches ${node.name}`);
  };

  await expectOwner(first, 'endpoint on node2');
  await c.setEndpoints('demo', 'local', [second.name]);
  await expectOwner(second, 'endpoint moved to node3');
  t.comment(`Lease after the move: ${JSON.stringify(await vipLease(c, ip))}`);
});
