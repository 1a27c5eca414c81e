// Section numbers (§) in test names cite docs/upstream-behaviour.md.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { configOf, errorLines, l2, node, pool } from '../fixtures/manifests/objects';

const pools = [
  pool('gold', { addresses: ['10.77.1.0/24'] }, { tier: 'gold' }),
  pool('silver', { addresses: ['10.77.2.0/24'] }, { tier: 'silver' }),
  pool('v6', { addresses: ['fd00:77::/120'] }, { tier: 'gold' }),
];
const nodes = [node('n1', { zone: 'a' }), node('n2', { zone: 'b' }), node('n3', { zone: 'a', edge: 'true' })];

t.test('pool attachment: default all, by name, by selector, union without duplicates', async (t) => {
  const cfg = configOf(
    parseConfig({
      pools,
      nodes,
      l2Advertisements: [
        l2('all'),
        l2('named', { ipAddressPools: ['silver'] }),
        l2('selected', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'gold' } }] }),
        l2('both', { ipAddressPools: ['gold'], ipAddressPoolSelectors: [{ matchLabels: { tier: 'gold' } }], interfaces: ['eth1'] }),
      ],
    }),
  );
  const ads = new Map(cfg.l2Advertisements.map((a) => [a.name, a]));
  t.same(ads.get('all')?.pools, ['gold', 'silver', 'v6']);
  t.same(ads.get('named')?.pools, ['silver']);
  t.same(ads.get('selected')?.pools, ['gold', 'v6']);
  t.same(ads.get('both')?.pools, ['gold', 'v6'], 'named and label-selected pool attached once');
  // Dedup (§2.5): "named" and "selected" equal "all" (same nodes, all interfaces) so they are
  // not attached again; "both" differs by interfaces.
  t.same(cfg.pools.get('gold')?.l2Advertisements.map((a) => a.name), ['all', 'both']);
  t.same(cfg.pools.get('silver')?.l2Advertisements.map((a) => a.name), ['all']);
});

t.test('nodes, interfaces, serviceSelectors, preferredNodeSelectors', async (t) => {
  const cfg = configOf(
    parseConfig({
      pools,
      nodes,
      l2Advertisements: [
        l2('a', {
          nodeSelectors: [{ matchLabels: { zone: 'a' } }],
          interfaces: ['eth0', 'eth1'],
          serviceSelectors: [{ matchLabels: { z: '1' } }, { matchLabels: { a: '1' } }],
          preferredNodeSelectors: [{ weight: 100, preference: { matchLabels: { edge: 'true' } } }, { weight: 1, preference: {} }],
        }),
        l2('b'),
      ],
    }),
  );
  const [a, b] = cfg.l2Advertisements;
  t.same([...a!.nodes].sort(), ['n1', 'n3']);
  t.same([a!.allInterfaces, a!.interfaces], [false, ['eth0', 'eth1']]);
  t.same(a!.serviceSelectors.map((s) => s.text), ['a=1', 'z=1'], 'serviceSelectors sorted by string form');
  t.same(a!.preferredNodeSelectors.map((p) => [p.weight, p.preference.text]), [
    [100, 'edge=true'],
    [1, ''],
  ]);
  t.same([[...b!.nodes].sort(), b!.allInterfaces, b!.nodeSelectors], [['n1', 'n2', 'n3'], true, []], 'no selectors: all nodes');
  // Ads with preferences are never deduplicated.
  t.same(cfg.pools.get('gold')?.l2Advertisements.map((x) => x.name), ['a', 'b']);
});

t.test('L2Advertisement errors and warnings', async (t) => {
  const table: { name: string; spec: Record<string, unknown>; errors: string[] }[] = [
    { name: 'duplicate pool names', spec: { ipAddressPools: ['gold', 'gold'] }, errors: ['L2Advertisement/x: duplicate definition of ipAddressPools "gold"'] },
    {
      name: 'duplicate node selectors',
      spec: { nodeSelectors: [{ matchLabels: { zone: 'a' } }, { matchLabels: { zone: 'a' } }] },
      errors: ['L2Advertisement/x: duplicate definition of nodeSelectors "zone=a"'],
    },
    {
      name: 'duplicate pool selectors',
      spec: { ipAddressPoolSelectors: [{ matchLabels: { tier: 'gold' } }, { matchLabels: { tier: 'gold' } }] },
      errors: ['L2Advertisement/x: duplicate definition of ipAddressPoolSelectors "tier=gold"'],
    },
    {
      name: 'invalid service selector',
      spec: { serviceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }] },
      errors: [`L2Advertisement/x: invalid serviceSelectors: key "a": for 'in', 'notin' operators, values set can't be empty`],
    },
    {
      name: 'preferredNodeSelectors weight bounds and required fields',
      spec: { preferredNodeSelectors: [{ weight: 0, preference: {} }, { preference: {} }, { weight: 5 }, 'x'] },
      errors: [
        'L2Advertisement/x: spec.preferredNodeSelectors[0].weight must be an integer between 1 and 100, got 0',
        'L2Advertisement/x: spec.preferredNodeSelectors[1].weight is required',
        'L2Advertisement/x: spec.preferredNodeSelectors[2].preference is required',
        'L2Advertisement/x: spec.preferredNodeSelectors[3] must be an object with weight and preference, got "x"',
      ],
    },
    { name: 'interfaces not strings', spec: { interfaces: [1] }, errors: ['L2Advertisement/x: spec.interfaces[0] must be a string, got 1'] },
  ];
  for (const row of table) t.same(errorLines(parseConfig({ pools, nodes, l2Advertisements: [l2('x', row.spec)] })), row.errors, row.name);

  const dupName = parseConfig({ pools, l2Advertisements: [l2('x'), l2('x')] });
  t.same(errorLines(dupName), ['L2Advertisement/x: duplicate definition of L2Advertisement "x"']);

  // Upstream ignores unknown pool names; we accept the config but warn.
  const r = parseConfig({ pools, l2Advertisements: [l2('x', { ipAddressPools: ['gold', 'typo'] })] });
  t.ok(r.ok);
  t.same(r.warnings.map((w) => `${w.kind}/${w.name}: ${w.message}`), ['L2Advertisement/x: ipAddressPools references pool "typo" which does not exist']);
  if (r.ok) t.same(r.config.l2Advertisements[0]?.pools, ['gold']);
});
