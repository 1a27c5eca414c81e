// Regression: a speaker stopping on SIGTERM while Service events keep arriving must not re-open
// its BGP sessions. Informer events that landed during the Lease handover used to schedule a
// recompute that ran after bgp.stop(), so the process re-established its sessions and never
// exited (the soak saw the route of a "stopped" node come back). Here a churn loop creates
// Services throughout the shutdown; the speaker must exit, its session with FRR must go down and
// stay down, and its route must leave the router while the other node's stays. With the guard
// removed (now in src/speaker/speaker-loop.ts) this test hung in round 2 (checked when it was written).
import t from 'tap';
import { startCluster, RELEASE_NAMESPACE } from '../harness/cluster';
import { startFrr } from '../harness/routers/frr';
import { createService, FAST_ELECTION } from '../fixtures/e2e/kit';
import { labConfig, toYaml } from '../fixtures/manifests/metallb-config';

// L2 too, as in the soak: the stopping speaker hands its VIP Leases over (Lease events during the
// shutdown) while it withdraws its routes.
const CONFIG = toYaml(labConfig({ pool: 'bgp', addresses: ['10.77.0.200-10.77.0.250'], l2: { name: 'all' }, bgp: { name: 'all' } }));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('SIGTERM during Service churn: the speaker exits and its BGP session stays down', async (t) => {
  const c = await startCluster(t, { nodes: 2, speakerArgs: FAST_ELECTION });
  const [n0, n1] = c.lab.nodes as [(typeof c.lab.nodes)[0], (typeof c.lab.nodes)[0]];
  const frr = await startFrr(c.lab, {
    asn: 64501,
    routerId: c.lab.router.ipv4,
    maximumPaths: 4,
    neighbors: c.lab.nodes.map((n) => ({ address: n.ipv4, remoteAs: 64500, families: ['ipv4' as const] })),
  });
  await c.apply(CONFIG);
  await c.startController();
  await c.startSpeaker(0);
  await c.startSpeaker(1);
  await frr.waitEstablished(n0.ipv4, 60_000);
  await frr.waitEstablished(n1.ipv4, 60_000);

  await createService(c, 'demo', 'web', { pool: 'bgp' });
  await c.setEndpoints('demo', 'web', [n0.name, n1.name]);
  const [ip] = await c.waitForIngress('demo', 'web', 60_000);
  await frr.waitKernelRoute(`${ip}/32`, (r) => (r.nexthops?.length ?? 0) >= 2, 30_000);
  t.pass(`${ip}/32 is learnt from both nodes`);

  // The race needs an informer event in the last debounce window (10 ms) before the informers
  // stop, so: four workers creating Services back to back (hundreds of events per second in
  // every speaker informer), and three SIGTERMs, each after a restart.
  let created = 0;
  for (let round = 1; round <= 3; round++) {
    if (round > 1) {
      await c.startSpeaker(0);
      await frr.waitEstablished(n0.ipv4, 60_000);
      await frr.waitKernelRoute(`${ip}/32`, (r) => (r.nexthops?.length ?? 0) >= 2, 30_000);
    }
    let churning = true;
    const worker = async (): Promise<void> => {
      while (churning) await createService(c, 'demo', `churn-${created++}`, { pool: 'bgp' }).catch(() => undefined);
    };
    const workers = [worker(), worker(), worker(), worker()];
    await sleep(300);
    const started = Date.now();
    const exited = c.stopSpeaker(0, 'SIGTERM');
    const outcome = await Promise.race([exited.then(() => 'exited' as const), sleep(30_000).then(() => 'hung' as const)]);
    const took = Date.now() - started;
    await sleep(500);
    churning = false;
    await Promise.all(workers);
    t.equal(outcome, 'exited', `round ${round}: the speaker exited on SIGTERM (${took} ms) while Services were being created`);
    if (outcome !== 'exited') return;
    await assertStaysDown(round);
  }
  t.comment(`${created} Services created during the shutdowns`);
  t.equal((await frr.neighbor(n1.ipv4))?.bgpState, 'Established', `${n1.name}'s session is unaffected`);

  async function assertStaysDown(round: number): Promise<void> {
    await frr.waitKernelRoute(`${ip}/32`, (r) => (r.nexthops?.length ?? 0) <= 1 && (r.gateway === n1.ipv4 || (r.nexthops ?? []).every((h) => h.gateway === n1.ipv4)), 20_000);
    t.pass(`round ${round}: ${ip}/32 now only via ${n1.name}`);
    // Watch for longer than connectTime (1 s) plus the debounce: a resurrected session would show.
    const states = new Set<string>();
    for (let i = 0; i < 25; i++) {
      states.add((await frr.neighbor(n0.ipv4))?.bgpState ?? 'absent');
      await sleep(200);
    }
    t.notOk(states.has('Established'), `round ${round}: the stopped node's session never came back (states seen: ${[...states].join(', ')})`);
    // It advertises nothing now, so it claims nothing: its status objects of both kinds are gone
    // (a ServiceBGPStatus used to stay until the Pod's garbage collection).
    for (const plural of ['servicebgpstatuses', 'servicel2statuses']) {
      const list = (await c.custom.listNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: RELEASE_NAMESPACE, plural, labelSelector: `metallb.io/node=${n0.name}` })) as { items: unknown[] };
      t.equal(list.items.length, 0, `round ${round}: no ${plural} of the stopped ${n0.name} left`);
    }
  }
});
