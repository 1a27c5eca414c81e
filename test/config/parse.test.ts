// Section numbers (§) in test names cite docs/upstream-behaviour.md.
import t from 'tap';
import fc from 'fast-check';
import { collectManifests } from '../../src/config/manifests';
import { parseConfig, type ConfigResources } from '../../src/config/parse';
import { configErrorSummary, forNode, formatConfigError, inNamespace, scopeToNamespace } from '../../src/config/scope';
import {
  bfd,
  bgpAd,
  community,
  configOf,
  errorLines,
  problemLines,
  goodPeer,
  l2,
  namespace,
  node,
  NS,
  peer,
  pool,
  secret,
} from '../fixtures/manifests/objects';

t.test('the user story config of docs/architecture.md §1.1 parses', async (t) => {
  const cfg = configOf(
    parseConfig({
      pools: [pool('default', { addresses: ['10.77.1.0/24', 'fd00:77:1::/120'] })],
      bgpAdvertisements: [bgpAd('ad', { aggregationLength: 32, localPref: 100, communities: ['65535:65282'] })],
      peers: [peer('fw1', { myASN: 64500, peerASN: 64501, peerAddress: '10.77.0.1' }), peer('fw2', { myASN: 64500, peerASN: 64501, peerAddress: '10.77.0.2' })],
      l2Advertisements: [l2('l2')],
      nodes: [node('n1'), node('n2')],
    }),
  );
  t.same([...cfg.pools.keys()], ['default']);
  t.same(cfg.peers.map((p) => p.name), ['fw1', 'fw2']);
  t.same(cfg.pools.get('default')?.bgpAdvertisements.map((a) => a.name), ['ad']);
  t.same(cfg.pools.get('default')?.l2Advertisements.map((a) => a.name), ['l2']);
});

t.test('errors from every kind are collected in one result', async (t) => {
  const r = parseConfig({
    bfdProfiles: [bfd('b')],
    peers: [peer('p', goodPeer({ myASN: 0 }))],
    communities: [community('c', [{ name: 'x', value: 'bad' }])],
    pools: [pool('a', { addresses: ['10.0.0.0/33'] })],
    l2Advertisements: [l2('l', { ipAddressPools: ['a', 'a'] })],
    bgpAdvertisements: [bgpAd('g', { aggregationLength: 40 })],
  });
  // The BFDProfile is fine now; the broken peer is a finding that disables it (after the errors).
  t.same(problemLines(r), [
    'Community/c: parsing community "x": invalid community format: bad',
    'IPAddressPool/a: invalid CIDR "10.0.0.0/33" in pool "a"',
    'L2Advertisement/l: duplicate definition of ipAddressPools "a"',
    'BGPAdvertisement/g: invalid aggregation length 40 for IPv4',
    'BGPPeer/p: missing local ASN',
  ]);
});

t.test('objects are processed in name order regardless of input order', async (t) => {
  const a = pool('a', { addresses: ['10.0.0.0/24'] });
  const b = pool('b', { addresses: ['10.0.0.0/25'] });
  t.same(errorLines(parseConfig({ pools: [b, a] })), errorLines(parseConfig({ pools: [a, b] })));
  t.same(errorLines(parseConfig({ pools: [b, a] })), ['IPAddressPool/b: CIDR "10.0.0.0/25" in pool "b" overlaps with already defined CIDR "10.0.0.0/24"']);
});

t.test('an empty configuration is valid (upstream: zero pools clears all services)', async (t) => {
  const cfg = configOf(parseConfig({}));
  t.same([cfg.pools.size, cfg.peers.length, cfg.l2Advertisements.length], [0, 0, 0]);
});

t.test('scope helpers', async (t) => {
  const other = { ...pool('x', { addresses: ['10.0.0.0/24'] }), metadata: { name: 'x', namespace: 'default' } };
  const mine = pool('y', { addresses: ['10.0.1.0/24'] });
  t.same(inNamespace([other, mine], NS), [mine]);
  const scoped = scopeToNamespace({ pools: [other, mine], nodes: [node('n1')], namespaces: [namespace('default')] }, NS);
  t.same([scoped.pools, scoped.nodes?.length, scoped.namespaces?.length], [[mine], 1, 1], 'cluster-scoped kinds pass through');

  const res: ConfigResources = {
    peers: [
      peer('all', goodPeer()),
      peer('rack1', goodPeer({ peerAddress: '10.77.0.2', nodeSelectors: [{ matchLabels: { rack: '1' } }] })),
      peer('broken', goodPeer({ myASN: 0, nodeSelectors: [{ matchLabels: { rack: '2' } }] })),
    ],
    bgpAdvertisements: [bgpAd('a', { nodeSelectors: [{ matchLabels: { rack: '2' } }] }), bgpAd('b')],
  };
  const n1 = forNode(res, { rack: '1' });
  t.same(n1.peers?.map((p) => (p as { metadata: { name: string } }).metadata.name), ['all', 'rack1']);
  t.same(n1.bgpAdvertisements?.length, 1);
  t.ok(parseConfig(n1).ok, "a broken peer for another node does not invalidate this node's config (§2.1)");

  const r = parseConfig({ pools: [pool('a', { addresses: [] })] });
  if (!r.ok) {
    t.equal(formatConfigError(r.errors[0]!), 'IPAddressPool/a: pool has no prefixes defined');
    t.equal(configErrorSummary(r.errors), 'IPAddressPool/a: pool has no prefixes defined');
  }
});

t.test('error messages never carry a password', async (t) => {
  const r = parseConfig({
    secrets: [secret('md5', 'hunter2')],
    peers: [peer('p', goodPeer({ passwordSecret: { name: 'md5' }, myASN: 0 })), peer('q', goodPeer({ password: 'x'.repeat(90), peerAddress: '10.77.0.9' }))],
  });
  t.same(configOf(r).disabledPeers.size, 2, 'both peers disabled');
  t.notOk(JSON.stringify(r).includes('hunter2'));
  t.notOk(JSON.stringify(r).includes('x'.repeat(90)));
});

// Hostile input: any JSON shape yields a result, never a throw.
const jsonish = fc.anything({
  maxDepth: 4,
  withBigInt: false,
  withNullPrototype: true,
  withObjectString: true,
  withBoxedValues: true,
  withMap: false,
  withSet: false,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
});

// Objects that look like the real thing, with fields replaced by arbitrary values, reach deep paths.
const specField = fc.oneof(
  jsonish,
  fc.constantFrom('10.0.0.0/24', 'fd00::/64', '1.2.3.4-1.2.3.9', '65535:1', 'large:1:2:3', '90s', 'In', 'x'),
  fc.integer({ min: -5, max: 70000 }),
);
const fieldNames = [
  'addresses',
  'autoAssign',
  'avoidBuggyIPs',
  'serviceAllocation',
  'priority',
  'namespaces',
  'namespaceSelectors',
  'serviceSelectors',
  'ipAddressPools',
  'ipAddressPoolSelectors',
  'nodeSelectors',
  'interfaces',
  'preferredNodeSelectors',
  'aggregationLength',
  'aggregationLengthV6',
  'localPref',
  'communities',
  'peers',
  'myASN',
  'peerASN',
  'dynamicASN',
  'peerAddress',
  'holdTime',
  'keepaliveTime',
  'connectTime',
  'routerID',
  'sourceAddress',
  'password',
  'passwordSecret',
  'bfdProfile',
  'matchLabels',
  'matchExpressions',
  'weight',
  'preference',
  'name',
  'value',
];
const specLike = fc.dictionary(fc.constantFrom(...fieldNames), fc.oneof(specField, fc.array(specField, { maxLength: 4 }), fc.dictionary(fc.constantFrom(...fieldNames), specField)));
const objectLike = fc.oneof(
  jsonish,
  fc.record({ metadata: fc.oneof(jsonish, fc.record({ name: fc.oneof(fc.string(), jsonish), namespace: fc.constant(NS), labels: jsonish })), spec: fc.oneof(specLike, jsonish) }),
);
const listOf = fc.oneof(fc.array(objectLike, { maxLength: 5 }), jsonish);

t.test('property: parseConfig never throws on any JSON shape', async (t) => {
  fc.assert(
    fc.property(
      fc.record({
        pools: listOf,
        l2Advertisements: listOf,
        bgpAdvertisements: listOf,
        peers: listOf,
        communities: listOf,
        bfdProfiles: listOf,
        secrets: listOf,
        nodes: listOf,
        namespaces: listOf,
      }),
      (resources) => {
        const r = parseConfig(resources as ConfigResources);
        if (r.ok !== true && r.ok !== false) throw new Error('not a result');
        if (!r.ok) {
          for (const e of r.errors) if (typeof e.message !== 'string' || e.message === '') throw new Error('empty message');
        }
      },
    ),
    { numRuns: 400 },
  );
  t.pass('no throw');
});

t.test('property: collecting arbitrary decoded documents never throws', async (t) => {
  const doc = fc.oneof(
    jsonish,
    fc.record({
      apiVersion: fc.constantFrom('metallb.io/v1beta1', 'metallb.io/v1beta2', 'metallb.io/v9', 'v1', 'apps/v1', 'metallb.io'),
      kind: fc.constantFrom('IPAddressPool', 'BGPPeer', 'List', 'Secret', 'Node', 'ConfigMap', 'toString', '__proto__', 'Nope'),
      metadata: jsonish,
      spec: fc.oneof(specLike, jsonish),
      items: fc.oneof(jsonish, fc.array(objectLike, { maxLength: 3 })),
      data: jsonish,
    }),
  );
  fc.assert(
    fc.property(fc.array(doc, { maxLength: 6 }), fc.option(fc.constant(NS), { nil: undefined }), (docs, ns) => {
      const c = collectManifests(
        docs.map((value, i) => ({ value, origin: { file: `f${i}.yaml`, line: 1 } })),
        ns,
      );
      parseConfig(c.resources);
    }),
    { numRuns: 300 },
  );
  t.pass('no throw');
});
