// The ServiceL2Status / ServiceBGPStatus sets the speaker converges to, computed from the plan:
// L2 only for Services with an IP this node holds now, BGP only for Services whose routes reach
// one of this node's sessions.
import t from 'tap';
import { bgpStatuses, l2Statuses } from '../../src/speaker/status-plan';
import type { ServicePlan } from '../../src/speaker/speaker-plan';
import type { ServiceRoute } from '../../src/speaker/bgp-routes';

const route = (prefix: string, peers: string[] = []): ServiceRoute => ({ prefix, localPref: 0, communities: [], peers });

t.test('l2Statuses: Services with an IP this node holds, with their interfaces', async (t) => {
  const services: ServicePlan[] = [
    { key: 'demo/web', ips: ['10.77.0.100'], l2: { ranked: ['node1', 'node2'], interfaces: 'all' } },
    { key: 'demo/api', ips: ['10.77.0.101', 'fd00:77::101'], l2: { ranked: ['node1'], interfaces: ['eth1', 'eth2'] } },
    { key: 'demo/elsewhere', ips: ['10.77.0.102'], l2: { ranked: ['node2', 'node1'], interfaces: 'all' } },
    { key: 'demo/skipped', ips: ['10.77.0.103'], l2: { skip: 'notOwner' as never } },
    { key: 'demo/bgp-only', ips: ['10.77.0.104'], bgp: { routes: [route('10.77.0.104/32')] } },
  ];
  const held = new Set(['10.77.0.100', 'fd00:77::101', '10.77.0.103', '10.77.0.104']);
  t.same(
    [...l2Statuses(services, held, 'node1')],
    [
      ['demo/web', { node: 'node1', serviceName: 'web', serviceNamespace: 'demo', interfaces: [] }],
      ['demo/api', { node: 'node1', serviceName: 'api', serviceNamespace: 'demo', interfaces: [{ name: 'eth1' }, { name: 'eth2' }] }],
    ],
    "'all' interfaces is an empty list; one held IP of a dual-stack Service is enough; skipped and BGP-only Services have none",
  );
  t.same([...l2Statuses(services, new Set(), 'node1')], [], 'nothing held: no status');
});

t.test('bgpStatuses: Services advertised to at least one session of this node, peers sorted', async (t) => {
  const services: ServicePlan[] = [
    { key: 'demo/all', ips: ['10.77.0.100'], bgp: { routes: [route('10.77.0.100/32')] } },
    { key: 'demo/one', ips: ['10.77.0.101'], bgp: { routes: [route('10.77.0.101/32', ['tor-b'])] } },
    { key: 'demo/two-ads', ips: ['10.77.0.102'], bgp: { routes: [route('10.77.0.102/32', ['tor-b']), route('10.77.0.0/24', ['tor-a'])] } },
    { key: 'demo/other-node', ips: ['10.77.0.103'], bgp: { routes: [route('10.77.0.103/32', ['tor-c'])] } },
    { key: 'demo/skipped', ips: ['10.77.0.104'], bgp: { skip: 'noPeers' as never } },
    { key: 'demo/l2-only', ips: ['10.77.0.105'], l2: { ranked: ['node1'], interfaces: 'all' } },
  ];
  const sessions = [{ name: 'tor-b' }, { name: 'tor-a' }];
  t.same(
    [...bgpStatuses(services, sessions, 'node1')],
    [
      ['demo/all', { node: 'node1', serviceName: 'all', serviceNamespace: 'demo', peers: ['tor-a', 'tor-b'] }],
      ['demo/one', { node: 'node1', serviceName: 'one', serviceNamespace: 'demo', peers: ['tor-b'] }],
      ['demo/two-ads', { node: 'node1', serviceName: 'two-ads', serviceNamespace: 'demo', peers: ['tor-a', 'tor-b'] }],
    ],
    'a route naming no peer goes to every session; a route for a peer this node has no session with gives no status',
  );
  t.same([...bgpStatuses(services, [], 'node1')], [], 'no sessions on this node: no status');
});
