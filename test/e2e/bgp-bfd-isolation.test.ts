// End to end, an upstream FRR-mode configuration against a real apiserver and FRR with bfdd
// (docs/bfd.md "Speaker wiring", docs/configuration.md "Per-peer findings"): a BGPPeer with a
// vrf (which this speaker cannot serve) next to a good BGPPeer with a BFDProfile. The good peer's
// routes reach FRR and its BFD session is Up, an L2 VIP keeps answering, and the broken peer's
// Warning Event says why. Then the link to the BFD peer is cut: our BGP session is closed (our
// routes withdrawn on our side) within the profile's detection time, and FRR, whose neighbor is
// tied to BFD, drops the routes too. After the link comes back, BFD and BGP come back.
import t from 'tap';
import { RELEASE_NAMESPACE, type Cluster } from '../harness/cluster';
import { waitFor } from '../harness/lab';
import { createService } from '../fixtures/e2e/kit';
import { BGP_POOL_YAML, bfdProfileYaml, bgpPeerYaml, IN_VRF_PEER_YAML, poolYaml, startBfdScenario, waitBfdBgpRoute, waitHeldForBfd, yamlDocs } from '../fixtures/e2e/bfd-scenario';
import { bfdDownsBetween, speakerEvents } from '../fixtures/e2e/speaker-log';

/** The profile: 200 ms x 3, so a silent peer is declared down 600 ms after its last packet. */
const RX_MS = 200;
const MULT = 3;
const DETECTION_MS = RX_MS * MULT;
/** Scheduling slack on a shared 2-core machine (timers, log write); the figure is printed. */
const SLACK_MS = 400;
/** A short idle period with the session Up: no false Down (bench/bfd-detect.ts idles 600 s). */
const IDLE_MS = 3000;

const config = (c: Cluster): string =>
  yamlDocs(
    bfdProfileYaml('fast', { intervalMs: RX_MS, mult: MULT }),
    `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: { name: unused-echo, namespace: ${RELEASE_NAMESPACE} }
spec: { echoMode: true }
`,
    bgpPeerYaml('router', c.lab.router.ipv4, 'bfdProfile: fast'),
    IN_VRF_PEER_YAML,
    BGP_POOL_YAML,
    poolYaml('l2', '10.77.0.100-10.77.0.105', 'L2Advertisement'),
  );

t.test('a broken peer disables itself only; BFD takes the good peer down at once', async (t) => {
  // FRR's neighbor is tied to BFD too, so FRR drops our routes as soon as its bfdd says Down.
  const scenario = await startBfdScenario(t, { timers: { intervalMs: RX_MS, mult: MULT }, config, cluster: { client: true } });
  const { c, node, frr } = scenario;

  await frr.waitBfdPeer(node.ipv4, 'up', 30_000);
  t.pass('BFD Up on the router for the peer with a bfdProfile');
  await frr.waitEstablished(node.ipv4, 60_000);
  t.pass('and its BGP session Established next to the broken peer');

  await createService(c, 'demo', 'routed', { pool: 'bgp' });
  await c.setEndpoints('demo', 'routed', [node.name]);
  const [bgpIp] = await c.waitForIngress('demo', 'routed', 60_000);
  await frr.waitRoute(`${bgpIp}/32`, undefined, 30_000);
  t.pass(`${bgpIp}/32 reached FRR`);

  await createService(c, 'demo', 'l2web', { pool: 'l2' });
  await c.setEndpoints('demo', 'l2web', [node.name]);
  const [l2Ip] = await c.waitForIngress('demo', 'l2web', 60_000);
  await c.lab.addVip(node.index, l2Ip!);
  const reached = await waitFor(`a TCP connect to the L2 VIP ${l2Ip}`, () => c.connect(c.lab.client!.ns, l2Ip!), { timeoutMs: 30_000 });
  t.equal(reached, node.name, 'the L2 VIP answers');

  const event = await waitFor(
    'a Warning Event on BGPPeer in-vrf',
    async () => {
      const list = await c.core.listNamespacedEvent({ namespace: RELEASE_NAMESPACE, fieldSelector: 'involvedObject.name=in-vrf' });
      return list.items.find((e) => e.reason === 'peerDisabled');
    },
    { timeoutMs: 30_000 },
  );
  t.equal(event.type, 'Warning');
  t.equal(event.involvedObject.kind, 'BGPPeer');
  t.match(event.message, /^BGPPeer skipped on node node1, no session is opened: vrf is not supported by this speaker/, `the Event says why: ${event.message}`);
  const state = (await c.custom.getNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: RELEASE_NAMESPACE, plural: 'configurationstates', name: 'speaker-node1' })) as {
    status?: { result?: string; conditions?: { message?: string }[] };
  };
  t.equal(state.status?.result, 'Valid', "the speaker's ConfigurationState stays Valid");
  t.match(state.status?.conditions?.[0]?.message, /BGPPeer\/in-vrf: vrf is not supported by this speaker .*\(peer disabled\)/, 'and names the disabled peer');

  // Idle at 200 ms x 3: a session that goes Down now is a false Down.
  const idleFrom = Date.now();
  await new Promise((r) => setTimeout(r, IDLE_MS)); // a measured idle period, not a wait for a condition
  t.same(bfdDownsBetween(c.lab.dir, idleFrom, Date.now()), [], `no false BFD Down in ${IDLE_MS} ms idle`);

  // Cut the BFD peer's link: BFD Down closes our BGP session within the detection time.
  const t0 = Date.now();
  await c.lab.linkDown(node.index);
  const held = await waitHeldForBfd(c, t0);
  const ourMs = held.time - t0;
  t.comment(`cut -> our BGP session closed: ${ourMs} ms (detection time ${DETECTION_MS} ms)`);
  t.ok(ourMs <= DETECTION_MS + SLACK_MS, `our routes withdrawn ${ourMs} ms after the cut (detection ${DETECTION_MS} ms + ${SLACK_MS} ms slack)`);
  await frr.waitRouteGone(`${bgpIp}/32`, 5_000);
  const frrMs = Date.now() - t0;
  t.comment(`cut -> route gone from FRR's table (polled): ${frrMs} ms`);
  t.ok(frrMs < DETECTION_MS + 2_000, `FRR dropped ${bgpIp}/32 ${frrMs} ms after the cut, long before its 9 s hold time`);

  // The link back: BFD Up first, then BGP, then the route.
  await c.lab.linkUp(node.index);
  await waitBfdBgpRoute(scenario, `${bgpIp}/32`);
  t.pass('after the link is back: BFD Up, BGP Established, the route again');
  const released = speakerEvents(c.lab.dir, 'bgpReleasedByBfd').filter((e) => e.time >= t0);
  t.ok(released.length >= 1, 'the speaker logged the BGP session released by BFD Up');
});
