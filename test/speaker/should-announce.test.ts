import t from 'tap';
import { cidrOf } from '../../src/net/cidr';
import { parseIp } from '../../src/net/ip';
import { matcherFrom, SelectorOperator } from '../../src/config/selectors';
import type { BgpAdvertisement, L2Advertisement, Pool } from '../../src/config/types';
import { decideBgp, decideL2, SkipReason, type DecisionInput } from '../../src/speaker/should-announce';
import { routesForPeer, serviceRoutes, sortCommunities } from '../../src/speaker/bgp-routes';
import type { EndpointView, NodeView, ServiceView } from '../../src/speaker/view';

const nodeNames = ['node-a', 'node-b', 'node-c'];
const nodes = new Map<string, NodeView>(nodeNames.map((name) => [name, { name, labels: { zone: name === 'node-c' ? 'z2' : 'z1' }, networkUnavailable: false }]));
const everyNode = new Set(nodeNames);

function l2Ad(over: Partial<L2Advertisement> = {}): L2Advertisement {
  return { name: 'l2', pools: ['p'], nodeSelectors: [], nodes: everyNode, allInterfaces: true, interfaces: [], serviceSelectors: [], preferredNodeSelectors: [], ...over };
}
function bgpAd(over: Partial<BgpAdvertisement> = {}): BgpAdvertisement {
  return { name: 'bgp', pools: ['p'], aggregationLength: 32, aggregationLengthV6: 128, localPref: 0, communities: [], peers: [], nodeSelectors: [], nodes: everyNode, serviceSelectors: [], ...over };
}
function pool(over: Partial<Pool> = {}): Pool {
  const ip = parseIp('10.0.0.0')!;
  return { name: 'p', labels: {}, cidrs: [cidrOf(4, ip.value, 24)], addresses: [], autoAssign: true, avoidBuggyIPs: false, serviceAllocation: undefined, l2Advertisements: [l2Ad()], bgpAdvertisements: [bgpAd()], ...over };
}
const svc: ServiceView = { namespace: 'ns', name: 's', labels: { app: 'web' }, annotations: {}, externalTrafficPolicy: 'Cluster', ingressIps: ['10.0.0.1'] };
const ep = (nodeName: string, usable = true): EndpointView => ({ nodeName, usable, addressCount: 1 });

function input(over: Partial<DecisionInput> = {}): DecisionInput {
  return { service: svc, pool: pool(), endpoints: [ep('node-c')], nodes, thisNode: 'node-a', ignoreExcludeLB: false, ...over };
}

t.test('L2: ranked candidates follow the upstream hash', async (t) => {
  const d = decideL2(input(), everyNode);
  t.equal(d.kind, 'candidates');
  if (d.kind === 'candidates') {
    t.same(d.ranked, ['node-b', 'node-a', 'node-c'], 'upstream vector for 10.0.0.1');
    t.equal(d.thisNodeEligible, true);
    t.equal(d.interfaces, 'all');
  }
});

t.test('L2: reasons', async (t) => {
  t.same(decideL2(input({ endpoints: [] }), everyNode), { kind: 'skip', reason: SkipReason.NotOwner }, 'no endpoints anywhere');
  t.same(decideL2(input({ endpoints: [ep('node-a', false)] }), everyNode), { kind: 'skip', reason: SkipReason.NotOwner }, 'only unusable endpoints');
  const selective = pool({ l2Advertisements: [l2Ad({ serviceSelectors: [matcherFrom([{ key: 'app', operator: SelectorOperator.In, values: ['web'] }])] })] });
  t.same(
    decideL2(input({ pool: selective, service: { ...svc, annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' } } }), everyNode),
    { kind: 'skip', reason: SkipReason.SharedIpWithServiceSelector },
  );
  const onlyC = pool({ l2Advertisements: [l2Ad({ nodes: new Set(['node-c']) })] });
  const d = decideL2(input({ pool: onlyC }), everyNode);
  t.match(d, { kind: 'candidates', ranked: ['node-c'], thisNodeEligible: false });
  t.same(decideL2(input({ pool: onlyC }), new Set(['node-a'])), { kind: 'skip', reason: SkipReason.NoMatchingAdvertisement }, 'no live candidate, and none of my ads');
});

t.test('L2: exclusions, Local policy, interfaces, preferences', async (t) => {
  const excludedB = new Map(nodes);
  excludedB.set('node-b', { name: 'node-b', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }, networkUnavailable: false });
  t.match(decideL2(input({ nodes: excludedB }), everyNode), { ranked: ['node-a', 'node-c'] });
  t.match(decideL2(input({ nodes: excludedB, ignoreExcludeLB: true }), everyNode), { ranked: ['node-b', 'node-a', 'node-c'] });
  const unavailableB = new Map(nodes);
  unavailableB.set('node-b', { name: 'node-b', labels: {}, networkUnavailable: true });
  t.match(decideL2(input({ nodes: unavailableB }), everyNode), { ranked: ['node-a', 'node-c'] });
  t.match(decideL2(input({ service: { ...svc, externalTrafficPolicy: 'Local' } }), everyNode), { ranked: ['node-c'] }, 'only the node with the endpoint');
  t.match(decideL2(input({ pool: pool({ l2Advertisements: [l2Ad({ allInterfaces: false, interfaces: ['eth1'] }), l2Ad({ allInterfaces: false, interfaces: ['eth0', 'eth1'] })] }) }), everyNode), {
    interfaces: ['eth0', 'eth1'],
  });
  const pref = pool({ l2Advertisements: [l2Ad({ preferredNodeSelectors: [{ weight: 100, preference: matcherFrom([{ key: 'zone', operator: SelectorOperator.In, values: ['z2'] }]) }] })] });
  t.match(decideL2(input({ pool: pref }), everyNode), { ranked: ['node-c', 'node-b', 'node-a'] }, 'weight beats hash');
  // Regression: a preference counted for every candidate whose labels matched, also nodes its
  // advertisement does not select. Every node is in zone z1; "edge" selects only the node the
  // hash ranks last and prefers z1; "all" selects every node, without preferences. Only the edge
  // node may score, so it must win; before, every node scored 100 and the hash order stood.
  const z1Everywhere = new Map<string, NodeView>(nodeNames.map((name) => [name, { name, labels: { zone: 'z1' }, networkUnavailable: false }]));
  const hashOnly = (decideL2(input({ pool: pool({ l2Advertisements: [l2Ad({ name: 'all' })] }), nodes: z1Everywhere, endpoints: nodeNames.map((n) => ep(n)) }), everyNode) as unknown as { ranked: string[] }).ranked;
  const edgeNode = hashOnly[hashOnly.length - 1]!;
  const edgePool = pool({
    l2Advertisements: [
      l2Ad({ name: 'edge', nodes: new Set([edgeNode]), preferredNodeSelectors: [{ weight: 100, preference: matcherFrom([{ key: 'zone', operator: SelectorOperator.In, values: ['z1'] }]) }] }),
      l2Ad({ name: 'all' }),
    ],
  });
  const ranked = (decideL2(input({ pool: edgePool, nodes: z1Everywhere, endpoints: nodeNames.map((n) => ep(n)) }), everyNode) as unknown as { ranked: string[] }).ranked;
  t.same(ranked, [edgeNode, ...hashOnly.slice(0, -1)], `${edgeNode}, the one node the preferring advertisement selects, wins; the others keep the hash order`);
});

t.test('BGP: reasons in upstream order', async (t) => {
  t.same(decideBgp(input({ pool: pool({ bgpAdvertisements: [bgpAd({ nodes: new Set(['node-b']) })] }) })), { kind: 'skip', reason: SkipReason.NotOwner });
  const sel = matcherFrom([{ key: 'app', operator: SelectorOperator.In, values: ['db'] }]);
  t.same(decideBgp(input({ pool: pool({ bgpAdvertisements: [bgpAd({ serviceSelectors: [sel] })] }) })), { kind: 'skip', reason: SkipReason.NoMatchingAdvertisement });
  t.same(decideBgp(input({ pool: pool({ bgpAdvertisements: [bgpAd({ localPref: 100 }), bgpAd({ localPref: 200 })] }) })), { kind: 'skip', reason: SkipReason.ConflictingAdvertisements });
  t.match(decideBgp(input({ pool: pool({ bgpAdvertisements: [bgpAd({ localPref: 100, peers: ['r1'] }), bgpAd({ localPref: 200, peers: ['r2'] })] }) })), { kind: 'announce' }, 'disjoint peers are compatible');
  t.match(decideBgp(input({ pool: pool({ bgpAdvertisements: [bgpAd({ localPref: 100 }), bgpAd({ localPref: 200, aggregationLength: 24 })] }) })), { kind: 'announce' }, 'different aggregation is compatible');
  const down = new Map(nodes);
  down.set('node-a', { name: 'node-a', labels: {}, networkUnavailable: true });
  t.same(decideBgp(input({ nodes: down })), { kind: 'skip', reason: SkipReason.NodeNetworkUnavailable });
  const excl = new Map(nodes);
  excl.set('node-a', { name: 'node-a', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' }, networkUnavailable: false });
  t.same(decideBgp(input({ nodes: excl })), { kind: 'skip', reason: SkipReason.NodeLabeledExcludeBalancers });
  t.match(decideBgp(input({ nodes: excl, ignoreExcludeLB: true })), { kind: 'announce' });
  t.same(decideBgp(input({ service: { ...svc, externalTrafficPolicy: 'Local' } })), { kind: 'skip', reason: SkipReason.NoLocalEndpoints });
  t.same(decideBgp(input({ endpoints: [] })), { kind: 'skip', reason: SkipReason.NoEndpoints });
  t.match(decideBgp(input()), { kind: 'announce' }, 'every qualifying node announces (ECMP)');
});

t.test('BGP routes: aggregation, merging, peers, IPv6', async (t) => {
  const std = (a: number, b: number) => ({ kind: 'standard' as const, value: a * 65536 + b });
  const large = { kind: 'large' as const, globalAdmin: 64500, localData1: 1, localData2: 2 };
  const r1 = serviceRoutes(['10.0.0.7', 'fd00::7'], [bgpAd({ aggregationLength: 24, aggregationLengthV6: 64, localPref: 100, communities: [std(65535, 65282)] })]);
  t.same(r1.map((r) => r.prefix), ['10.0.0.0/24', 'fd00::/64']);
  const r2 = serviceRoutes(['10.0.0.9'], [bgpAd({ aggregationLength: 24, localPref: 300, communities: [large, std(1, 2)], peers: ['r1'] })]);
  const forR1 = routesForPeer('r1', [...r1, ...r2]);
  t.same(forR1.get('10.0.0.0/24'), { prefix: '10.0.0.0/24', localPref: 100, communities: [large, std(1, 2), std(65535, 65282)] }, 'first LOCAL_PREF wins, communities united and sorted as triples');
  const forR2 = routesForPeer('r2', [...r1, ...r2]);
  t.same(forR2.get('10.0.0.0/24')?.communities, [std(65535, 65282)], 'r2 does not get the r1-only ad');
  t.equal(sortCommunities([std(1, 1), std(1, 1)]).length, 1, 'de-duplicated');
});
