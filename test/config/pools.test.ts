// Section numbers (§) in test names cite docs/upstream-behaviour.md.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { matches } from '../../src/config/selectors';
import { configOf, errorLines, errorMessages, namespace, pool } from '../fixtures/manifests/objects';

t.test('IPAddressPool rules (§2.2, §2.3): one scenario per row', async (t) => {
  const table: { name: string; pools: unknown[]; errors: string[] }[] = [
    { name: 'v4 CIDR', pools: [pool('a', { addresses: ['10.77.1.0/24'] })], errors: [] },
    { name: 'v6 CIDR', pools: [pool('a', { addresses: ['fd00:77::/64'] })], errors: [] },
    { name: 'v4 + v6 + ranges', pools: [pool('a', { addresses: ['10.77.1.0/24', '10.77.2.10-10.77.2.20', 'fd00:77::10-fd00:77::20'] })], errors: [] },
    { name: 'host bits allowed', pools: [pool('a', { addresses: ['10.77.1.7/24'] })], errors: [] },
    { name: 'bad prefix length', pools: [pool('a', { addresses: ['10.0.0.0/33'] })], errors: ['IPAddressPool/a: invalid CIDR "10.0.0.0/33" in pool "a"'] },
    { name: 'bare IP', pools: [pool('a', { addresses: ['10.0.0.1'] })], errors: ['IPAddressPool/a: invalid CIDR "10.0.0.1" in pool "a"'] },
    { name: 'leading space', pools: [pool('a', { addresses: [' 10.0.0.0/8'] })], errors: ['IPAddressPool/a: invalid CIDR " 10.0.0.0/8" in pool "a"'] },
    {
      name: 'reversed range',
      pools: [pool('a', { addresses: ['10.0.0.9-10.0.0.1'] })],
      errors: ['IPAddressPool/a: invalid CIDR "10.0.0.9-10.0.0.1" in pool "a": invalid IP range "10.0.0.9-10.0.0.1": start IP "10.0.0.9" is after the end IP "10.0.0.1"'],
    },
    {
      name: 'bad range start',
      pools: [pool('a', { addresses: ['x-10.0.0.1'] })],
      errors: ['IPAddressPool/a: invalid CIDR "x-10.0.0.1" in pool "a": invalid IP range "x-10.0.0.1": invalid start IP "x"'],
    },
    { name: 'no addresses', pools: [pool('a', { addresses: [] })], errors: ['IPAddressPool/a: pool has no prefixes defined'] },
    { name: 'addresses missing', pools: [pool('a', {})], errors: ['IPAddressPool/a: pool has no prefixes defined'] },
    { name: 'spec missing', pools: [pool('a', undefined as never)], errors: ['IPAddressPool/a: pool has no prefixes defined'] },
    { name: 'missing name', pools: [pool('', { addresses: ['10.0.0.0/24'] })], errors: ['IPAddressPool/: missing pool name'] },
    {
      name: 'duplicate name',
      pools: [pool('a', { addresses: ['10.0.0.0/24'] }), pool('a', { addresses: ['10.0.1.0/24'] })],
      errors: ['IPAddressPool/a: duplicate definition of pool "a"'],
    },
    {
      name: 'overlap across pools, later (by name) reported against the earlier',
      pools: [pool('b', { addresses: ['10.0.0.128/25'] }), pool('a', { addresses: ['10.0.0.0/24'] })],
      errors: ['IPAddressPool/b: CIDR "10.0.0.128/25" in pool "b" overlaps with already defined CIDR "10.0.0.0/24"'],
    },
    {
      name: 'overlap inside one pool',
      pools: [pool('a', { addresses: ['10.0.0.0/24', '10.0.0.0/24'] })],
      errors: ['IPAddressPool/a: CIDR "10.0.0.0/24" in pool "a" overlaps with already defined CIDR "10.0.0.0/24"'],
    },
    {
      name: 'range overlapping a CIDR',
      pools: [pool('a', { addresses: ['10.0.0.0/30'] }), pool('b', { addresses: ['10.0.0.3-10.0.0.4'] })],
      errors: ['IPAddressPool/b: CIDR "10.0.0.3/32" in pool "b" overlaps with already defined CIDR "10.0.0.0/30"'],
    },
    {
      name: 'wider later CIDR contains an earlier one',
      pools: [pool('a', { addresses: ['10.0.0.64/26'] }), pool('b', { addresses: ['10.0.0.0/24'] })],
      errors: ['IPAddressPool/b: CIDR "10.0.0.0/24" in pool "b" overlaps with already defined CIDR "10.0.0.64/26"'],
    },
    {
      name: 'v6 overlap',
      pools: [pool('a', { addresses: ['fd00:77::/64'] }), pool('b', { addresses: ['fd00:77::5-fd00:77::6'] })],
      errors: [
        'IPAddressPool/b: CIDR "fd00:77::5/128" in pool "b" overlaps with already defined CIDR "fd00:77::/64"',
        'IPAddressPool/b: CIDR "fd00:77::6/128" in pool "b" overlaps with already defined CIDR "fd00:77::/64"',
      ],
    },
    { name: 'adjacent is not overlap', pools: [pool('a', { addresses: ['10.0.0.0/25'] }), pool('b', { addresses: ['10.0.0.128/25'] })], errors: [] },
    { name: 'same numbers, other family', pools: [pool('a', { addresses: ['0.0.0.0/0'] }), pool('b', { addresses: ['::/0'] })], errors: [] },
    {
      name: 'type errors are reported, not thrown',
      pools: [pool('a', { addresses: '10.0.0.0/24', autoAssign: 'yes', avoidBuggyIPs: 1 })],
      errors: [
        'IPAddressPool/a: spec.addresses must be a list of strings, got "10.0.0.0/24"',
        'IPAddressPool/a: spec.autoAssign must be a boolean, got "yes"',
        'IPAddressPool/a: spec.avoidBuggyIPs must be a boolean, got 1',
      ],
    },
  ];
  for (const row of table) t.same(errorLines(parseConfig({ pools: row.pools })), row.errors, row.name);
});

t.test('every error is collected, not only the first (deliberate difference from upstream)', async (t) => {
  const r = parseConfig({
    pools: [
      pool('a', { addresses: ['10.0.0.0/33', '10.0.1.0/24', 'nope'] }),
      pool('b', { addresses: ['10.0.1.0/24'] }),
      pool('c', { addresses: [] }),
    ],
  });
  t.same(errorLines(r), [
    'IPAddressPool/a: invalid CIDR "10.0.0.0/33" in pool "a"',
    'IPAddressPool/a: invalid CIDR "nope" in pool "a"',
    'IPAddressPool/c: pool has no prefixes defined',
    'IPAddressPool/b: CIDR "10.0.1.0/24" in pool "b" overlaps with already defined CIDR "10.0.1.0/24"',
  ]);
  if (!r.ok) t.same(r.errors[0], { kind: 'IPAddressPool', namespace: 'metallb-system', name: 'a', field: 'spec.addresses[0]', message: 'invalid CIDR "10.0.0.0/33" in pool "a"', transient: false });
});

// Upstream blames the later pool by name: adding pool "a" over a working pool "b" reported "b",
// the pool nobody touched. The newer pool (creationTimestamp, then name) is the offender here.
t.test('an overlap is blamed on the newer pool, by creationTimestamp then name', async (t) => {
  const created = (p: ReturnType<typeof pool>, ts: string): ReturnType<typeof pool> => ({ ...p, metadata: { ...(p['metadata'] as object), creationTimestamp: ts } });
  const oldB = created(pool('b', { addresses: ['10.0.0.0/24'] }), '2024-01-01T00:00:00Z');
  const newA = created(pool('a', { addresses: ['10.0.0.128/25'] }), '2024-06-01T00:00:00Z');
  t.same(errorLines(parseConfig({ pools: [oldB, newA] })), ['IPAddressPool/a: CIDR "10.0.0.128/25" in pool "a" overlaps with already defined CIDR "10.0.0.0/24"'], 'newer "a" named, not the older "b"');
  const sameTime = created(pool('a', { addresses: ['10.0.0.128/25'] }), '2024-01-01T00:00:00Z');
  t.same(errorLines(parseConfig({ pools: [oldB, sameTime] })), ['IPAddressPool/b: CIDR "10.0.0.0/24" in pool "b" overlaps with already defined CIDR "10.0.0.128/25"'], 'same second: by name, as upstream');
  const unsaved = pool('a', { addresses: ['10.0.0.128/25'] });
  t.same(errorLines(parseConfig({ pools: [oldB, unsaved] })), ['IPAddressPool/a: CIDR "10.0.0.128/25" in pool "a" overlaps with already defined CIDR "10.0.0.0/24"'], 'a pool not created yet counts as the newest');
});

t.test('overlap check stays fast for thousands of entries', async (t) => {
  const addresses = Array.from({ length: 5000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const r = parseConfig({ pools: [pool('big', { addresses }), pool('dup', { addresses: ['10.3.7.0/25'] })] });
  t.same(errorMessages(r), ['CIDR "10.3.7.0/25" in pool "dup" overlaps with already defined CIDR "10.3.7.0/24"']);
});

t.test('pool fields: ranges in order, defaults, avoidBuggyIPs, labels', async (t) => {
  const cfg = configOf(
    parseConfig({
      pools: [
        pool('a', { addresses: ['10.77.2.0/24', '10.77.1.1-10.77.1.2', 'fd00:77::/120'], autoAssign: false, avoidBuggyIPs: true }, { tier: 'gold' }),
        pool('b', { addresses: ['10.77.3.0/24'] }),
      ],
    }),
  );
  const a = cfg.pools.get('a')!;
  t.same(a.cidrs.map((c) => c.cidr), ['10.77.2.0/24', '10.77.1.1/32', '10.77.1.2/32', 'fd00:77::/120']);
  t.same(a.addresses.map((e) => [e.raw, e.family, e.cidrs.length]), [
    ['10.77.2.0/24', 4, 1],
    ['10.77.1.1-10.77.1.2', 4, 2],
    ['fd00:77::/120', 6, 1],
  ]);
  t.same([a.autoAssign, a.avoidBuggyIPs, a.serviceAllocation, a.labels], [false, true, undefined, { tier: 'gold' }]);
  const b = cfg.pools.get('b')!;
  t.same([b.autoAssign, b.avoidBuggyIPs], [true, false], 'defaults');
  t.same([...cfg.pools.keys()], ['a', 'b']);
});

t.test('serviceAllocation (§2.4)', async (t) => {
  const namespaces = [namespace('red', { team: 'r' }), namespace('blue', { team: 'b' }), namespace('green', { team: 'r' })];
  const cfg = configOf(
    parseConfig({
      namespaces,
      pools: [
        pool('explicit', { addresses: ['10.77.1.0/24'], serviceAllocation: { priority: 10, namespaces: ['blue'] } }),
        pool('bysel', { addresses: ['10.77.2.0/24'], serviceAllocation: { namespaces: ['blue'], namespaceSelectors: [{ matchLabels: { team: 'r' } }] } }),
        pool('svc', { addresses: ['10.77.3.0/24'], serviceAllocation: { priority: 5, serviceSelectors: [{ matchLabels: { app: 'web' } }] } }),
        pool('prio-only', { addresses: ['10.77.4.0/24'], serviceAllocation: { priority: 1 } }),
        pool('nomatch', { addresses: ['10.77.5.0/24'], serviceAllocation: { namespaceSelectors: [{ matchLabels: { team: 'none' } }] } }),
        pool('generic', { addresses: ['10.77.6.0/24'] }),
      ],
    }),
  );
  const sa = (n: string) => cfg.pools.get(n)!.serviceAllocation!;
  t.same([sa('explicit').priority, [...sa('explicit').namespaces], sa('explicit').serviceSelectors], [10, ['blue'], []]);
  t.same([...sa('bysel').namespaces].sort(), ['blue', 'green', 'red'], 'namespaceSelectors resolved at parse time and merged');
  t.equal(sa('bysel').priority, 0, 'priority defaults to 0');
  t.ok(matches(sa('svc').serviceSelectors[0]!, { app: 'web' }));
  t.equal(sa('prio-only').serviceSelectors.length, 1, 'only priority set: a match-everything service selector');
  t.ok(matches(sa('prio-only').serviceSelectors[0]!, {}));
  // QUIRK kept: selectors matching nothing pin the pool to nothing.
  t.same([[...sa('nomatch').namespaces], sa('nomatch').serviceSelectors], [[], []]);
  t.same(
    [...cfg.poolIndex.byNamespace.entries()].sort(),
    [
      ['blue', ['bysel', 'explicit']],
      ['green', ['bysel']],
      ['red', ['bysel']],
    ],
  );
  t.same(cfg.poolIndex.byServiceSelector, ['prio-only', 'svc']);

  const bad = parseConfig({
    pools: [
      pool('a', {
        addresses: ['10.77.1.0/24'],
        serviceAllocation: {
          priority: 'high',
          namespaces: ['x', 'x'],
          namespaceSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }],
          serviceSelectors: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['v', 'v'] }] }, { matchExpressions: [{ key: 'k', operator: 'Bad', values: ['v'] }] }],
        },
      }),
      pool('b', { addresses: ['10.77.2.0/24'], serviceAllocation: 'all' }),
    ],
  });
  t.same(errorLines(bad), [
    'IPAddressPool/a: spec.serviceAllocation.priority must be an integer between -2147483648 and 2147483647, got "high"',
    'IPAddressPool/a: duplicate definition in namespaces field',
    'IPAddressPool/a: duplicate definition of namespaceSelectors "a=b"',
    'IPAddressPool/a: duplicate definition of match expression value in label selector "v"',
    'IPAddressPool/a: invalid service label selector "Bad" is not a valid label selector operator in ip pool a',
    'IPAddressPool/b: spec.serviceAllocation must be an object, got "all"',
  ]);
  const dupExpr = parseConfig({
    pools: [
      pool('a', {
        addresses: ['10.77.1.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Exists' }, { key: 'k', operator: 'Exists' }] }] },
      }),
    ],
  });
  t.same(errorMessages(dupExpr), ['duplicate definition of match expressions "k Exists ()"']);
});
