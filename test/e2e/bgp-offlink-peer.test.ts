// End to end, the warning for a single-hop eBGP peer off the node's subnets
// (src/speaker/peer-reachability.ts, docs/bgp.md). FRR runs in the client namespace with its BGP
// address 10.78.0.2 on lo, two hops from the node: node -> router namespace (which forwards and
// sends no redirects) -> client. With ebgpMultiHop false our SYN leaves with TTL 1 and dies at the
// router, so the session cannot come up, and the speaker says why with a Warning Event on the
// BGPPeer and a log line; single-hop eBGP on the lab subnet, iBGP and multihop peers get none.
// Setting ebgpMultiHop: true brings the session up and clears the warning.
import t from 'tap';
import { startCluster, RELEASE_NAMESPACE } from '../harness/cluster';
import { startFrr } from '../harness/routers/frr';
import { waitFor } from '../harness/lab';
import { speakerEvents } from '../fixtures/e2e/speaker-log';
import { bgpPeer, pool, toYaml } from '../fixtures/manifests/metallb-config';

const FAR = '10.78.0.2';

interface SessionObject {
  readonly status?: { readonly bgpPeer?: string; readonly bgpStatus?: string; readonly lastError?: string };
}

const config = (farMultiHop: boolean): string =>
  toYaml([
    pool('bgp', ['10.77.0.200-10.77.0.210']),
    bgpPeer('far', { peerAddress: FAR, connectTime: '1s', ebgpMultiHop: farMultiHop }),
    // On the lab subnet: single-hop is right, nothing to say (no router answers there).
    bgpPeer('near', { peerAddress: '10.77.0.99', connectTime: '1s' }),
    // Off-link but not single-hop eBGP: iBGP keeps the kernel's TTL; multihop sends 255.
    bgpPeer('far-ibgp', { peerAddress: '10.78.0.3', peerASN: 64500, connectTime: '1s' }),
    bgpPeer('far-multihop', { peerAddress: '10.78.0.4', ebgpMultiHop: true, connectTime: '1s' }),
  ]);

t.test('a single-hop eBGP peer two hops away: Warning, no session; ebgpMultiHop brings it up', async (t) => {
  const c = await startCluster(t, { nodes: 1, client: true });
  const { router, client } = c.lab;
  const node = c.lab.nodes[0]!;
  // Two hops: the node routes 10.78.0.0/24 via the router namespace, which forwards to the client.
  // No ICMP redirects, or the node would learn the direct path and TTL 1 would reach the peer.
  await c.lab.run(router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.br0.send_redirects=0']);
  await c.lab.run(node, ['sysctl', '-qw', 'net.ipv4.conf.all.accept_redirects=0', 'net.ipv4.conf.eth0.accept_redirects=0']);
  await c.lab.run(client!, ['ip', 'addr', 'add', `${FAR}/32`, 'dev', 'lo']);
  await c.lab.addRoute(router, `${FAR}/32`, client!.ipv4);
  await c.lab.addRoute(node, '10.78.0.0/24', router.ipv4);
  t.ok((await c.lab.ping(node, FAR)).ok, `${FAR} answers ping from the node (kernel TTL) through the router`);

  // Passive: the session must be the one our speaker opens, with our TTL.
  const frr = await startFrr(c.lab, {
    asn: 64501,
    routerId: FAR,
    ns: client!.ns,
    name: 'frr-far',
    neighbors: [{ address: node.ipv4, remoteAs: 64500, passive: true, families: ['ipv4'] }],
  });
  await c.apply(config(false));
  await c.startSpeaker(0);

  const event = await waitFor(
    'a Warning Event on BGPPeer far',
    async () => {
      const list = await c.core.listNamespacedEvent({ namespace: RELEASE_NAMESPACE, fieldSelector: 'involvedObject.name=far' });
      return list.items.find((e) => e.reason === 'peerNotConnected');
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  t.equal(event.type, 'Warning');
  t.equal(event.involvedObject.kind, 'BGPPeer');
  t.match(event.message, /^eBGP peer 10\.78\.0\.2 is not on a connected subnet of node node1 and ebgpMultiHop is false: .*set ebgpMultiHop: true/, `the Event says why: ${event.message}`);
  // The log lines of one recompute are written before its Events are posted.
  t.same(
    speakerEvents(c.lab.dir, 'peerNotConnected').map((e) => e['peer']),
    ['far'],
    'only far is warned about: not the on-link, iBGP or multihop peers',
  );

  const sessions = async (): Promise<Map<string, SessionObject>> => {
    const r = (await c.custom.listNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: RELEASE_NAMESPACE, plural: 'bgpsessionstates' })) as { items: SessionObject[] };
    return new Map(r.items.map((o) => [o.status?.bgpPeer ?? '', o]));
  };
  const failed = await waitFor('far: a failed connect in its BGPSessionState', async () => (await sessions()).get('far')?.status?.lastError, { timeoutMs: 60_000, intervalMs: 200 });
  t.pass(`far did not connect with TTL 1 through the router: ${failed}`);
  t.not((await frr.neighbor(node.ipv4))?.bgpState, 'Established', 'FRR never saw the session');

  await c.apply(config(true));
  const up = await frr.waitEstablished(node.ipv4, 60_000);
  t.equal(up.bgpState, 'Established', 'with ebgpMultiHop (TTL 255) the session crosses the router');
  await waitFor('the speaker to log that far is no longer warned about', async () => speakerEvents(c.lab.dir, 'peerConnected').some((e) => e['peer'] === 'far'), { timeoutMs: 30_000 });
  t.equal(speakerEvents(c.lab.dir, 'peerNotConnected').length, 1, 'no new warning');
  await waitFor('far Established in its BGPSessionState', async () => (await sessions()).get('far')?.status?.bgpStatus === 'Established', { timeoutMs: 30_000, intervalMs: 200 });
  t.pass('far: Established in BGPSessionState');
});
