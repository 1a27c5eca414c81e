// Smoke tests of the other router wrappers (docs/architecture.md §9): BIRD, OpenBGPD and ExaBGP
// each start in the router namespace, reach Established with a listening GoBGP in a node namespace,
// and receive its route. The routers connect out, so GoBGP's 5-10 s first-connect delay never
// applies.
import t from 'tap';
import { createLab, type Lab, type LabNode } from '../harness/lab';
import { startGobgp, type GobgpHandle } from '../harness/routers/gobgp';
import { startBird } from '../harness/routers/bird';
import { startOpenbgpd } from '../harness/routers/openbgpd';
import { startExabgp } from '../harness/routers/exabgp';
import { startFrr } from '../harness/routers/frr';

async function labWithSpeaker(name: string): Promise<{ lab: Lab; node: LabNode; gobgp: GobgpHandle }> {
  const lab = await createLab({ nodes: 1, name });
  const node = lab.nodes[0];
  if (node === undefined) throw new Error('no node');
  const gobgp = await startGobgp(lab, {
    ns: node.ns,
    asn: 64500,
    routerId: node.ipv4,
    neighbors: [{ address: lab.router.ipv4, remoteAs: 64501 }],
  });
  await gobgp.addRoute('10.77.0.210/32', { communities: ['64500:7'], med: 5 });
  return { lab, node, gobgp };
}

t.test('BIRD: Established with GoBGP, route in BIRD and in the kernel', async (t) => {
  const { lab, node } = await labWithSpeaker('bird');
  t.teardown(() => lab.destroy());
  const bird = await startBird(lab, { asn: 64501, routerId: lab.router.ipv4, neighbors: [{ address: node.ipv4, remoteAs: 64500 }] });
  await bird.waitEstablished(node.ipv4, 10_000);
  t.pass('BIRD session Established');
  const lines = await bird.waitRoute('10.77.0.210/32');
  t.match(lines.join('\n'), /via 10\.77\.0\.11/, 'BIRD route via the node');
  const kernel = await lab.routes(lab.router, 'ipv4');
  t.ok(
    kernel.some((r) => r.dst === '10.77.0.210' && r.gateway === node.ipv4 && r.protocol === 'bird'),
    'BIRD exported the route to the kernel',
  );
  await bird.stop();
});

t.test('OpenBGPD: Established with GoBGP, route in the RIB (bgpctl -j)', async (t) => {
  const { lab, node } = await labWithSpeaker('openbgpd');
  t.teardown(() => lab.destroy());
  const obgpd = await startOpenbgpd(lab, { asn: 64501, routerId: lab.router.ipv4, neighbors: [{ address: node.ipv4, remoteAs: 64500 }] });
  await obgpd.waitEstablished(node.ipv4, 10_000);
  t.pass('OpenBGPD session Established');
  const entry = await obgpd.waitRoute('10.77.0.210/32');
  t.match(entry, { aspath: '64500', exit_nexthop: node.ipv4 }, 'RIB entry from the node');
  await obgpd.stop();
});

t.test('ExaBGP: Established with GoBGP, UPDATE logged as JSON with its attributes', async (t) => {
  const { lab, node } = await labWithSpeaker('exabgp');
  t.teardown(() => lab.destroy());
  // Active towards the listening gobgpd; passive mode is the default for product tests, where
  // our speaker connects without GoBGP's delay.
  const exa = await startExabgp(lab, {
    asn: 64501,
    routerId: lab.router.ipv4,
    neighbors: [{ address: node.ipv4, remoteAs: 64500, passive: false }],
  });
  await exa.waitState(node.ipv4, 'up', 10_000);
  t.pass('ExaBGP session up');
  const route = await exa.waitRoute('10.77.0.210/32', { peer: node.ipv4 });
  t.equal(route.nextHop, node.ipv4, 'next hop');
  t.match(route.attribute, { 'as-path': [64500], med: 5, community: [[64500, 7]] }, 'attributes as sent');
  t.ok(exa.messages().some((m) => m.type === 'update'), 'raw UPDATE message kept');
});

t.test('ExaBGP passive (the default): a peer that connects is logged, and so is its withdrawal', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'exabgp-passive' });
  t.teardown(() => lab.destroy());
  const node = lab.nodes[0];
  if (node === undefined) throw new Error('no node');
  const exa = await startExabgp(lab, { asn: 64501, routerId: lab.router.ipv4, neighbors: [{ address: node.ipv4, remoteAs: 64500 }] });
  // FRR as a quick active speaker in the node namespace (connect retry 1 s, no zebra).
  const speaker = await startFrr(lab, {
    ns: node.ns,
    asn: 64500,
    routerId: node.ipv4,
    zebra: false,
    networks: ['10.77.0.211/32'],
    neighbors: [{ address: lab.router.ipv4, remoteAs: 64501 }],
  });
  const route = await exa.waitRoute('10.77.0.211/32', { peer: node.ipv4, timeoutMs: 10_000 });
  t.match(route, { nextHop: node.ipv4, attribute: { 'as-path': [64500] } }, 'route from the connecting peer');
  await speaker.stop();
  await exa.waitState(node.ipv4, 'down', 10_000);
  t.notOk([...exa.routes().values()].some((r) => r.prefix === '10.77.0.211/32'), 'session down withdraws the route');
});
