// End to end, L2 over IPv4 and IPv6 (docs/speaker.md): a Service gets an IP from the pool, the
// client resolves it to exactly one node's MAC, and a TCP connect from the client reaches that
// node.
import t from 'tap';
import { startCluster, RELEASE_NAMESPACE } from '../harness/cluster';
import { delay, waitFor } from '../harness/lab';
import { bgpAdvertisement, bgpPeer, labConfig, toYaml } from '../fixtures/manifests/metallb-config';
import { vipLease } from '../fixtures/e2e/kit';

const METRICS_PORT = 9131;

t.test('L2 end to end', async (t) => {
  const c = await startCluster(t, { nodes: 3, client: true, speakerArgs: ['--l2-renew-interval', '2s', '--l2-lease-duration', '6s', '--port', String(METRICS_PORT)] });
  await c.apply(toYaml(labConfig()));
  await c.startController();
  for (let i = 0; i < 3; i++) await c.startSpeaker(i);
  const client = c.lab.client!;

  await c.core.createNamespace({ body: { metadata: { name: 'demo' } } });
  await c.core.createNamespacedService({
    namespace: 'demo',
    body: {
      metadata: { name: 'web' },
      spec: { type: 'LoadBalancer', ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'], ports: [{ port: 8080, protocol: 'TCP' }], selector: { app: 'web' } },
    },
  });
  await c.setEndpoints('demo', 'web', ['node1', 'node2', 'node3']);
  const ips = await c.waitForIngress('demo', 'web', 60_000);
  const announcedAt = Date.now();
  t.comment(`ingress: ${ips.join(', ')}`);
  t.ok(ips.some((ip) => ip.startsWith('10.77.0.1')), 'an IPv4 address from the pool');

  for (const ip of ips) for (const n of c.lab.nodes) await c.lab.addVip(n.index, ip);

  for (const ip of ips) {
    await t.test(`${ip}: one MAC, and traffic reaches that node`, async (t) => {
      const family = ip.includes(':') ? 'ipv6' : 'ipv4';
      const reached = await waitFor(`a TCP connect to ${ip}`, () => c.connect(client.ns, ip), { timeoutMs: 30_000 }).catch(async (err: unknown) => {
        const neigh = await c.lab.exec(client.ns, ['ip', '-6', 'neigh']);
        const ping = await c.lab.exec(client.ns, ['ping', '-c1', '-W1', ip]);
        const logs = await c.lab.exec(c.lab.router.ns, ['bash', '-c', `tail -n 30 ${c.lab.dir}/speaker-*.log | grep -v '"level":20' | tail -40`]);
        throw new Error(`${String(err)}\nneigh: ${neigh.stdout}\nping: ${ping.stdout}${ping.stderr}\nlogs: ${logs.stdout}`);
      });
      const neigh = (await c.lab.neighbors(client.ns, family)).filter((e) => e.dst === ip && e.lladdr);
      t.equal(neigh.length, 1, `one neighbour entry for ${ip}`);
      const owner = c.lab.nodes.find((n) => n.mac === neigh[0]?.lladdr);
      t.ok(owner, `the MAC ${neigh[0]?.lladdr} is a node's`);
      t.equal(reached, owner?.name, 'the connection reached the node whose MAC answered');
      // Ownership is per IP: the IPv4 and IPv6 addresses of this dual-stack Service can be held by
      // two nodes (whichever was best when each Lease was first taken), and then each of the two
      // has its ServiceL2Status for the Service, as upstream's speakers would.
      const holders = async (): Promise<Set<string>> => {
        const out = new Set<string>();
        for (const x of ips) {
          const holder = (await vipLease(c, x))?.holder;
          if (holder) out.add(holder);
        }
        return out;
      };
      const statuses = await waitFor(
        `a ServiceL2Status for demo/web naming ${owner?.name ?? '?'}`,
        async () => {
          const list = (await c.custom.listNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: RELEASE_NAMESPACE, plural: 'servicel2statuses' })) as {
            items: Array<{ status?: { node?: string; serviceName?: string } }>;
          };
          const mine = list.items.filter((o) => o.status?.serviceName === 'web');
          return mine.every((o) => o.status?.node) && mine.some((o) => o.status?.node === owner?.name) ? mine : undefined;
        },
        { timeoutMs: 15_000 },
      );
      const held = await holders();
      t.ok(held.has(owner?.name ?? ''), `the Lease of ${ip} names the node whose MAC answered (holders: ${[...held].join(', ')})`);
      t.same([...new Set(statuses.map((o) => o.status?.node ?? ''))].sort(), [...held].sort(), 'ServiceL2Status objects name exactly the nodes holding the Service\'s IPs');
      // Exactly one node answers: arping from the client collects every distinct replying MAC.
      if (family === 'ipv4') {
        const ar = await c.lab.exec(client.ns, ['arping', '-c', '3', '-w', '3', '-I', client.iface, ip]);
        const macs = new Set([...ar.stdout.matchAll(/\[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1]!.toLowerCase()));
        t.same([...macs], [owner?.mac], `arping sees exactly one MAC: ${ar.stdout} ${ar.stderr}`);
      }
    });
  }

  // Regression: every election tick (1 s) restarted the 5-round gratuitous burst, so a held VIP
  // was announced about once a second for as long as it was held.
  await t.test('once its takeover burst is over, a held VIP sends no gratuitous ARP', async (t) => {
    const v4 = ips.find((ip) => !ip.includes(':')) as string;
    // The burst is 5 rounds 1.1 s apart; the VIP was announced before its ingress was seen.
    await delay(Math.max(0, announcedAt + 7_000 - Date.now()));
    const cap = await c.lab.capture(client.ns, client.iface, 'arp');
    await delay(5_000);
    const garps = (await cap.stop()).filter((f) => f.arp && f.arp.senderIp === v4 && f.arp.targetIp === v4);
    t.equal(garps.length, 0, `gratuitous ARPs for ${v4} in 5 s while held (the next is the 60 s refresh)`);
  });

  await t.test('an L2Advertisement naming only a missing interface: Warning Event announceFailed', async (t) => {
    await c.apply(toYaml(labConfig({ pool: 'nowhere', addresses: ['10.77.0.130-10.77.0.131'], poolSpec: { autoAssign: false }, l2: { interfaces: ['no-such-if0'] } })));
    await c.core.createNamespacedService({
      namespace: 'demo',
      body: {
        metadata: { name: 'nowhere', annotations: { 'metallb.io/address-pool': 'nowhere' } },
        spec: { type: 'LoadBalancer', ports: [{ port: 8080, protocol: 'TCP' }], selector: { app: 'web' } },
      },
    });
    await c.setEndpoints('demo', 'nowhere', ['node1', 'node2', 'node3']);
    const [ip] = await c.waitForIngress('demo', 'nowhere', 60_000);
    const events = await waitFor(
      'an announceFailed Event on demo/nowhere',
      async () => {
        const list = await c.core.listNamespacedEvent({ namespace: 'demo', fieldSelector: 'involvedObject.name=nowhere' });
        const failed = list.items.filter((e) => e.reason === 'announceFailed');
        return failed.length > 0 ? failed : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const e = events[0];
    t.equal(e?.type, 'Warning', 'a Warning');
    t.match(e?.message, new RegExp(`^the interfaces specified by LB IP "${ip?.replace(/\./g, '\\.')}" doesn't exist in assigned node "node[123]" with protocol "layer2"$`), `upstream's words: ${e?.message}`);
    const ar = await c.lab.exec(client.ns, ['arping', '-c', '2', '-w', '2', '-I', client.iface, ip ?? '']);
    t.notMatch(ar.stdout, /reply from/i, `no node answers ARP for ${ip}`);
  });

  await t.test('speaker metrics: announced series follow the Service, config gauges', async (t) => {
    const metrics = async (i: number): Promise<string> => (await c.lab.exec(c.lab.nodes[i]!.ns, ['curl', '-s', `http://127.0.0.1:${METRICS_PORT}/metrics`])).stdout;
    const series = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('metallb_speaker_announced{') && l.includes('service="demo/web"'));
    const all = await Promise.all([0, 1, 2].map(metrics));
    t.equal(all.flatMap(series).length, ips.length, `one layer2 series per IP of demo/web across the nodes: ${all.flatMap(series).join('; ')}`);
    for (const text of all) {
      t.match(text, /^metallb_k8s_client_config_loaded_bool 1$/m, 'config loaded');
      t.match(text, /^metallb_k8s_client_config_stale_bool 0$/m, 'config not stale');
    }
    // Each speaker reports its verdict in ConfigurationState speaker-<node>, as upstream's do.
    type State = { metadata?: { labels?: Record<string, string> }; status?: { result?: string; conditions?: { type: string; status: string; message: string }[] } };
    const state = async (node: string): Promise<State | undefined> =>
      (await c.custom.getNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: RELEASE_NAMESPACE, plural: 'configurationstates', name: `speaker-${node}` }).catch(() => undefined)) as State | undefined;
    // A broken BGPPeer for node1 only (its password Secret does not exist) disables that peer
    // alone: node1 stays Valid and names it (docs/configuration.md "Per-peer findings").
    await c.apply(
      toYaml([
        bgpPeer('broken-for-node1', {
          passwordSecret: { name: 'missing', namespace: RELEASE_NAMESPACE },
          nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'node1' } }],
        }),
      ]),
    );
    const named = await waitFor('ConfigurationState speaker-node1 naming the disabled peer', async () => {
      const s = await state('node1');
      return s?.status?.conditions?.[0]?.message?.includes('BGPPeer/broken-for-node1') ? s : undefined;
    }, { timeoutMs: 20_000 });
    t.match(named.status, { result: 'Valid', conditions: [{ status: 'True', message: /secret ref not found .*\(peer disabled\)/ }] }, 'node1: Valid, the peer disabled');
    t.match(await metrics(0), /^metallb_k8s_client_config_stale_bool 0$/m, 'node1: a broken peer does not make the configuration stale');
    // A broken BGPAdvertisement for node1 only (its aggregation is shorter than the pool's /29
    // CIDRs) makes node1's configuration stale and leaves the other nodes' alone (upstream's
    // per-node pre-filter).
    await c.apply(
      toYaml([
        bgpAdvertisement('broken-for-node1', {
          ipAddressPools: ['lab'],
          aggregationLength: 28,
          nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'node1' } }],
        }),
      ]),
    );
    await waitFor('node1 reports a stale configuration', async () => (/^metallb_k8s_client_config_stale_bool 1$/m.test(await metrics(0)) ? true : undefined), { timeoutMs: 20_000 });
    for (const i of [1, 2]) t.match(await metrics(i), /^metallb_k8s_client_config_stale_bool 0$/m, `node${i + 1}: a peer for node1 does not make its configuration stale`);
    const bad = await waitFor('ConfigurationState speaker-node1 Invalid', async () => ((await state('node1'))?.status?.result === 'Invalid' ? state('node1') : undefined), { timeoutMs: 20_000 });
    t.match(bad?.status?.conditions?.[0], { type: 'configReconcilerValid', status: 'False', message: /invalid aggregation length 28/ }, 'node1: the advertisement error, under the speaker condition');
    t.match(bad?.metadata?.labels, { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': 'node1' });
    t.equal((await waitFor('ConfigurationState speaker-node2', () => state('node2'), { timeoutMs: 20_000 }))?.status?.result, 'Valid', 'node2: Valid');
    await c.core.deleteNamespacedService({ namespace: 'demo', name: 'web' });
    await waitFor('no announced series for demo/web on any node', async () => ((await Promise.all([0, 1, 2].map(metrics))).flatMap(series).length === 0 ? true : undefined), { timeoutMs: 20_000 });
    t.pass('series deleted with the Service');
  });
});
