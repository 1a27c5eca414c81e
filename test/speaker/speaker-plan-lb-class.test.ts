// The speaker's --lb-class filter in its plan (src/speaker/speaker-plan.ts), as upstream's
// speaker: without the flag only Services without spec.loadBalancerClass are handled; with it,
// only Services of exactly that class. test/e2e/speaker-lb-class.test.ts checks it in FRR.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { planSpeaker, type ServiceObject } from '../../src/speaker/speaker-plan';
import type { EndpointView } from '../../src/speaker/view';
import { bgpAd, configOf, goodPeer, l2, node, peer, pool } from '../fixtures/manifests/objects';

const config = configOf(
  parseConfig({
    pools: [pool('p', { addresses: ['10.77.0.200-10.77.0.210'] })],
    l2Advertisements: [l2('l2')],
    bgpAdvertisements: [bgpAd('bgp')],
    peers: [peer('router', goodPeer())],
    nodes: [node('node1')],
  }),
);

function service(name: string, ip: string, cls?: string): ServiceObject {
  return {
    metadata: { namespace: 'demo', name },
    spec: { type: 'LoadBalancer', ...(cls === undefined ? {} : { loadBalancerClass: cls }) },
    status: { loadBalancer: { ingress: [{ ip }] } },
  };
}

const SERVICES = [service('classless', '10.77.0.201'), service('ours', '10.77.0.202', 'example.com/ours'), service('foreign', '10.77.0.203', 'other.example/lb')];
const endpoints = new Map<string, readonly EndpointView[]>(SERVICES.map((s) => [`demo/${s.metadata!.name}`, [{ nodeName: 'node1', usable: true, addressCount: 1 }]]));

function plan(lbClass: string) {
  return planSpeaker({
    me: 'node1',
    config,
    nodes: new Map([['node1', { name: 'node1', labels: {}, networkUnavailable: false }]]),
    services: SERVICES,
    endpoints,
    lbClass,
    ignoreExcludeLB: false,
    liveSpeakers: new Set(['node1']),
  });
}

t.test('without --lb-class: Services without a class only', async (t) => {
  const p = plan('');
  t.same([...p.services.keys()], ['demo/classless'], 'the classed Services are not even planned (no status, no Events)');
  t.same([...p.l2.keys()], ['10.77.0.201']);
  t.same(p.bgpRoutes.map((r) => r.prefix), ['10.77.0.201/32']);
});

t.test('with --lb-class: that class only, neither class-less nor other classes', async (t) => {
  const p = plan('example.com/ours');
  t.same([...p.services.keys()], ['demo/ours']);
  t.same([...p.l2.keys()], ['10.77.0.202']);
  t.same(p.bgpRoutes.map((r) => r.prefix), ['10.77.0.202/32']);
});

t.test('a class nobody has: nothing', async (t) => {
  const p = plan('none.example/lb');
  t.same([...p.services.keys()], []);
  t.same(p.bgpRoutes, []);
});
