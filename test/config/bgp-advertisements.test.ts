// Section numbers (§) in test names cite docs/upstream-behaviour.md.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { bgpAd, configOf, errorLines, errorMessages, goodPeer, node, peer, pool } from '../fixtures/manifests/objects';

const LP = (n: number, old: number) =>
  `invalid local preference ${n}: local preferernce ${old} was already set for the same type of BGP update. Check existing BGP advertisements with common pools and aggregation lengths`;

t.test('defaults and resolved fields', async (t) => {
  const cfg = configOf(
    parseConfig({
      pools: [pool('p', { addresses: ['10.77.1.0/24', 'fd00:77::/64'] })],
      peers: [peer('r1', goodPeer())],
      nodes: [node('n1', { zone: 'a' }), node('n2')],
      bgpAdvertisements: [
        bgpAd('plain'),
        bgpAd('full', {
          aggregationLength: 24,
          aggregationLengthV6: 64,
          localPref: 100,
          communities: ['65535:65282'],
          peers: ['r1'],
          nodeSelectors: [{ matchLabels: { zone: 'a' } }],
          ipAddressPools: ['p'],
        }),
      ],
    }),
  );
  const [full, plain] = cfg.bgpAdvertisements;
  t.same([plain!.aggregationLength, plain!.aggregationLengthV6, plain!.localPref, plain!.communities, plain!.peers], [32, 128, 0, [], []]);
  t.same([...plain!.nodes].sort(), ['n1', 'n2']);
  t.same([full!.aggregationLength, full!.aggregationLengthV6, full!.localPref, full!.peers, [...full!.nodes]], [24, 64, 100, ['r1'], ['n1']]);
  t.same(full!.communities, [{ kind: 'standard', value: 0xffffff02 }]);
  // IPv6 pools with BGP are allowed (upstream native rejects: "native bgp mode does not support ipv6").
  t.same(cfg.pools.get('p')?.bgpAdvertisements.map((a) => a.name), ['full', 'plain']);
});

t.test('BGPAdvertisement rule table (§2.6)', async (t) => {
  const p28 = pool('p', { addresses: ['1.1.1.0/28'] });
  const rng = pool('r', { addresses: ['3.3.3.2-3.3.3.254'] });
  const v6 = pool('six', { addresses: ['fd00:77::/64'] });
  const table: { name: string; pools: unknown[]; ads: unknown[]; errors: string[] }[] = [
    {
      name: 'aggregation shorter than the pool prefix (e2e vector)',
      pools: [pool('p', { addresses: ['1.1.1.0/28'] })],
      ads: [bgpAd('a', { aggregationLength: 26 })],
      errors: ['BGPAdvertisement/a: invalid aggregation length 26: prefix 28 in this pool is more specific than the aggregation length for addresses 1.1.1.0/28'],
    },
    { name: 'aggregation equal to pool prefix', pools: [p28], ads: [bgpAd('a', { aggregationLength: 28 })], errors: [] },
    { name: 'range widest /26: 26 ok', pools: [rng], ads: [bgpAd('a', { aggregationLength: 26 })], errors: [] },
    {
      name: 'range widest /26: 24 rejected',
      pools: [rng],
      ads: [bgpAd('a', { aggregationLength: 24 })],
      errors: ['BGPAdvertisement/a: invalid aggregation length 24: prefix 26 in this pool is more specific than the aggregation length for addresses 3.3.3.2-3.3.3.254'],
    },
    {
      name: 'v6 aggregation vs v6 pool',
      pools: [v6],
      ads: [bgpAd('a', { aggregationLengthV6: 48 })],
      errors: ['BGPAdvertisement/a: invalid aggregation length 48: prefix 64 in this pool is more specific than the aggregation length for addresses fd00:77::/64'],
    },
    { name: 'v4 aggregation ignores v6 entries', pools: [v6], ads: [bgpAd('a', { aggregationLength: 1 })], errors: [] },
    { name: 'aggregationLength > 32', pools: [p28], ads: [bgpAd('a', { aggregationLength: 33 })], errors: ['BGPAdvertisement/a: invalid aggregation length 33 for IPv4'] },
    { name: 'aggregationLength 0', pools: [p28], ads: [bgpAd('a', { aggregationLength: 0 })], errors: ['BGPAdvertisement/a: invalid aggregation length 0 for IPv4'] },
    { name: 'aggregationLengthV6 > 128', pools: [p28], ads: [bgpAd('a', { aggregationLengthV6: 129 })], errors: ['BGPAdvertisement/a: invalid aggregation length 129 for IPv6'] },
    {
      name: 'serviceSelectors with non-default aggregation',
      pools: [p28],
      ads: [bgpAd('a', { aggregationLength: 30, aggregationLengthV6: 120, serviceSelectors: [{ matchLabels: { a: 'b' } }] })],
      errors: [
        'BGPAdvertisement/a: serviceSelectors and aggregationLength are mutually exclusive, both cannot be set in a',
        'BGPAdvertisement/a: serviceSelectors and aggregationLengthV6 are mutually exclusive, both cannot be set in a',
      ],
    },
    { name: 'serviceSelectors with explicit defaults', pools: [p28], ads: [bgpAd('a', { aggregationLength: 32, serviceSelectors: [{}] })], errors: [] },
    {
      name: 'duplicates in lists',
      pools: [p28],
      ads: [bgpAd('a', { ipAddressPools: ['p', 'p'], peers: ['x', 'x'], nodeSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }] })],
      errors: [
        'BGPAdvertisement/a: duplicate definition of ipAddressPools "p"',
        'BGPAdvertisement/a: duplicate definition of nodeSelectors "a=b"',
        'BGPAdvertisement/a: duplicate definition of peers "x"',
      ],
    },
    {
      name: 'localPref out of range',
      pools: [p28],
      ads: [bgpAd('a', { localPref: 4294967296 })],
      errors: ['BGPAdvertisement/a: spec.localPref must be an integer between 0 and 4294967295, got 4294967296'],
    },
    // LOCAL_PREF compatibility (per-pool check 2).
    { name: 'different localPref, same everything', pools: [p28], ads: [bgpAd('a', { localPref: 100 }), bgpAd('b', { localPref: 200 })], errors: ['BGPAdvertisement/b: ' + LP(200, 100)] },
    { name: 'same localPref', pools: [p28], ads: [bgpAd('a', { localPref: 100 }), bgpAd('b', { localPref: 100 })], errors: [] },
    {
      name: 'different aggregation length (v4-only pool)',
      pools: [p28],
      ads: [bgpAd('a', { localPref: 100 }), bgpAd('b', { localPref: 200, aggregationLength: 30 })],
      errors: [],
    },
    {
      name: 'dual-family pool needs both lengths to differ',
      pools: [pool('d', { addresses: ['10.77.1.0/28', 'fd00:77::/120'] })],
      ads: [bgpAd('a', { localPref: 100 }), bgpAd('b', { localPref: 200, aggregationLength: 30 })],
      errors: ['BGPAdvertisement/b: ' + LP(200, 100)],
    },
    {
      name: 'dual-family pool, both lengths differ',
      pools: [pool('d', { addresses: ['10.77.1.0/28', 'fd00:77::/120'] })],
      ads: [bgpAd('a', { localPref: 100 }), bgpAd('b', { localPref: 200, aggregationLength: 30, aggregationLengthV6: 124 })],
      errors: [],
    },
    { name: 'disjoint peers', pools: [p28], ads: [bgpAd('a', { localPref: 100, peers: ['x'] }), bgpAd('b', { localPref: 200, peers: ['y'] })], errors: [] },
    {
      name: 'one ad to all peers overlaps',
      pools: [p28],
      ads: [bgpAd('a', { localPref: 100, peers: ['x'] }), bgpAd('b', { localPref: 200 })],
      errors: ['BGPAdvertisement/b: ' + LP(200, 100)],
    },
    {
      name: 'ad with serviceSelectors is skipped',
      pools: [p28],
      ads: [bgpAd('a', { localPref: 100 }), bgpAd('b', { localPref: 200, serviceSelectors: [{ matchLabels: { x: 'y' } }] })],
      errors: [],
    },
    {
      name: 'different pools never conflict',
      pools: [p28, rng],
      ads: [bgpAd('a', { localPref: 100, ipAddressPools: ['p'] }), bgpAd('b', { localPref: 200, ipAddressPools: ['r'] })],
      errors: [],
    },
  ];
  for (const row of table) {
    const peers = [peer('x', goodPeer()), peer('y', goodPeer({ peerAddress: '10.77.0.2' }))];
    t.same(errorLines(parseConfig({ pools: row.pools, bgpAdvertisements: row.ads, peers })), row.errors, row.name);
  }
});

t.test('LOCAL_PREF compatibility by node sets: exact with Nodes, conservative without', async (t) => {
  const base = {
    pools: [pool('p', { addresses: ['10.77.1.0/24'] })],
    bgpAdvertisements: [
      bgpAd('a', { localPref: 100, nodeSelectors: [{ matchLabels: { zone: 'a' } }] }),
      bgpAd('b', { localPref: 200, nodeSelectors: [{ matchLabels: { zone: 'b' } }] }),
    ],
  };
  t.same(errorMessages(parseConfig({ ...base, nodes: [node('n1', { zone: 'a' }), node('n2', { zone: 'b' })] })), [], 'disjoint node sets');
  t.same(errorMessages(parseConfig({ ...base, nodes: [node('n1', { zone: 'a' }), node('n2', { zone: 'b' }), node('n3')] })), []);
  const overlapping = {
    ...base,
    bgpAdvertisements: [base.bgpAdvertisements[0]!, bgpAd('b', { localPref: 200, nodeSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }] })],
  };
  t.same(errorMessages(parseConfig({ ...overlapping, nodes: [node('n1', { zone: 'a' })] })), [LP(200, 100)], 'n1 in both');
  t.same(errorMessages(parseConfig(base)), [], 'no Nodes given: different selectors are not reported');
  t.same(
    errorMessages(parseConfig({ ...base, bgpAdvertisements: [bgpAd('a', { localPref: 100 }), base.bgpAdvertisements[1]!] })),
    [LP(200, 100)],
    'no Nodes given: an ad for all nodes overlaps any other',
  );
});

t.test('unknown peers and pools are warnings (upstream: silently match nothing)', async (t) => {
  const r = parseConfig({
    pools: [pool('p', { addresses: ['10.77.1.0/24'] })],
    peers: [peer('r1', goodPeer())],
    bgpAdvertisements: [bgpAd('a', { peers: ['r1', 'r2'], ipAddressPools: ['p', 'q'] })],
  });
  t.ok(r.ok);
  t.same(r.warnings.map((w) => w.message), ['ipAddressPools references pool "q" which does not exist', 'peers references BGPPeer "r2" which does not exist']);
});
