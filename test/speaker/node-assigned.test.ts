// Upstream's nodeAssigned Event: once when a Service starts being advertised over BGP from this
// node (not on every recompute), and for every Service sharing an IP this node starts holding.
import t from 'tap';
import { diffBgpAssigned, nodeAssignedMessage, servicesWithIp } from '../../src/speaker/node-assigned';
import type { ServicePlan } from '../../src/speaker/speaker-plan';

const bgp = (key: string, ip: string): ServicePlan => ({ key, ips: [ip], bgp: { routes: [{ prefix: `${ip}/32`, localPref: 0, communities: [], peers: [] }] } });
const notAdvertised = (key: string, ip: string): ServicePlan => ({ key, ips: [ip], bgp: { skip: 'noPeers' as never } });

t.test('diffBgpAssigned: new Services get an Event once, gone ones are reported withdrawn', async (t) => {
  const first = diffBgpAssigned(new Set(), [bgp('demo/a', '10.0.0.1'), bgp('demo/b', '10.0.0.2'), notAdvertised('demo/c', '10.0.0.3')]);
  t.same(first.assigned.map((s) => s.key), ['demo/a', 'demo/b'], 'first plan: every advertised Service, in plan order');
  t.same([...first.current], ['demo/a', 'demo/b']);
  t.same(first.withdrawn, []);

  const same = diffBgpAssigned(first.current, [bgp('demo/a', '10.0.0.1'), bgp('demo/b', '10.0.0.2')]);
  t.same(same.assigned, [], 'an unchanged plan records nothing');
  t.same(same.withdrawn, []);

  const next = diffBgpAssigned(same.current, [notAdvertised('demo/a', '10.0.0.1'), bgp('demo/c', '10.0.0.3')]);
  t.same(next.assigned.map((s) => s.key), ['demo/c']);
  t.same(next.withdrawn, ['demo/a', 'demo/b'], 'no longer advertised, or gone from the plan');
  t.same([...next.current], ['demo/c']);

  const again = diffBgpAssigned(next.current, [bgp('demo/a', '10.0.0.1'), bgp('demo/c', '10.0.0.3')]);
  t.same(again.assigned.map((s) => s.key), ['demo/a'], 'advertised again after a withdrawal: a new Event');
});

t.test('servicesWithIp: every Service sharing the IP', async (t) => {
  const services = [bgp('demo/a', '10.0.0.1'), bgp('demo/b', '10.0.0.1'), { key: 'demo/dual', ips: ['10.0.0.2', 'fd00::1'] }];
  t.same(servicesWithIp(services, '10.0.0.1').map((s) => s.key), ['demo/a', 'demo/b']);
  t.same(servicesWithIp(services, 'fd00::1').map((s) => s.key), ['demo/dual']);
  t.same(servicesWithIp(services, '10.0.0.9'), []);
});

t.test("nodeAssignedMessage: upstream's text", async (t) => {
  t.equal(nodeAssignedMessage('node1', 'layer2'), 'announcing from node "node1" with protocol "layer2"');
  t.equal(nodeAssignedMessage('node1', 'bgp'), 'announcing from node "node1" with protocol "bgp"');
});
