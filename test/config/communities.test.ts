import t from 'tap';
import fc from 'fast-check';
import { compareCommunities, communityText, parseCommunity } from '../../src/config/communities';
import { parseConfig } from '../../src/config/parse';
import type { Community } from '../../src/config/types';
import { bgpAd, community, configOf, errorMessages, pool } from '../fixtures/manifests/objects';

t.test('community string table (upstream community.go rules)', async (t) => {
  const table: [string, Community | RegExp][] = [
    ['65535:65282', { kind: 'standard', value: 0xffffff02 }],
    ['0:0', { kind: 'standard', value: 0 }],
    ['64500:100', { kind: 'standard', value: 64500 * 65536 + 100 }],
    ['0064500:01', { kind: 'standard', value: 64500 * 65536 + 1 }], // Go ParseUint allows leading zeros
    ['large:4294967295:1:2', { kind: 'large', globalAdmin: 4294967295, localData1: 1, localData2: 2 }],
    ['99999999:1', /^invalid community value: invalid section "99999999" of community "99999999:1", err: .*value out of range/],
    ['1:65536', /invalid section "65536"/],
    ['a:1', /invalid section "a".*invalid syntax/],
    ['-1:1', /invalid section "-1"/],
    [':1', /invalid section ""/],
    ['large:1:2:4294967296', /invalid section "4294967296"/],
    ['big:1:2:3', /^invalid community value: invalid marker for large community, expected community to be of format large:<uint32>:<uint32>:<uint32> but got "big:1:2:3" instead$/],
    ['12345', /^invalid community format: 12345$/], // the old single-number form is not supported
    ['1:2:3', /^invalid community format: 1:2:3$/],
    ['rt:1:2:3:4', /^invalid community format/], // extended communities unsupported
  ];
  for (const [input, want] of table) {
    const p = parseCommunity(input);
    if (want instanceof RegExp) t.match(p, { ok: false, error: want }, input);
    else t.same(p, { ok: true, community: want }, input);
  }
});

t.test('text form and upstream ordering', async (t) => {
  const c = (s: string) => {
    const p = parseCommunity(s);
    if (!p.ok) throw new Error(p.error);
    return p.community;
  };
  t.equal(communityText(c('65535:65282')), '65535:65282');
  t.equal(communityText(c('large:1:2:3')), '1:2:3', 'large prints without the marker');
  const sorted = ['large:1:0:0', '0:2', 'large:0:0:5', '0:1', 'large:65536:0:1'].map(c).sort(compareCommunities).map(communityText);
  // 0:1 = (1,0,0); large:0:0:5 = (0,0,5); 0:2 = (2,0,0); large:1:0:0 = (1,0,0); 1:0 = (65536,0,0)
  t.same(sorted, ['0:0:5', '0:1', '1:0:0', '0:2', '65536:0:1']);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (a, b) => {
      const p = parseCommunity(`${a}:${b}`);
      if (!p.ok || communityText(p.community) !== `${a}:${b}`) throw new Error('round trip');
    }),
  );
});

t.test('Community CRs: aliases resolve, values validated, names global', async (t) => {
  const base = { pools: [pool('p', { addresses: ['10.77.1.0/24'] })] };
  const ok = configOf(
    parseConfig({
      ...base,
      communities: [community('c1', [{ name: 'NO_ADVERTISE', value: '65535:65282' }, { name: 'big', value: 'large:64500:1:2' }])],
      bgpAdvertisements: [bgpAd('ad', { communities: ['NO_ADVERTISE', 'big', '64500:7'] })],
    }),
  );
  // Upstream order: a standard A:B sorts as the triple (A<<16|B, 0, 0), so the large one is first.
  t.same(ok.bgpAdvertisements[0]?.communities.map(communityText), ['64500:1:2', '64500:7', '65535:65282']);
  t.equal(ok.communityAliases.size, 2);

  t.same(
    errorMessages(parseConfig({ communities: [community('c1', [{ name: 'x', value: '1:2:3' }])] })),
    ['parsing community "x": invalid community format: 1:2:3'],
  );
  t.same(
    errorMessages(
      parseConfig({
        communities: [community('a', [{ name: 'dup', value: '1:1' }]), community('b', [{ name: 'dup', value: '2:2' }])],
      }),
    ),
    ['duplicate definition of community "dup"'],
  );
  t.same(errorMessages(parseConfig({ communities: [community('a', [])].map((o) => ({ ...o, spec: { communities: 'x' } })) })), [
    'spec.communities must be a list, got "x"',
  ]);
});

t.test('BGPAdvertisement communities: literal errors, unknown aliases (transient), duplicates', async (t) => {
  const base = { pools: [pool('p', { addresses: ['10.77.1.0/24'] })] };
  const r = parseConfig({ ...base, bgpAdvertisements: [bgpAd('ad', { communities: ['99999999:1', 'nosuchalias', '1:1', '1:1'] })] });
  t.notOk(r.ok);
  if (!r.ok) {
    t.same(
      r.errors.map((e) => [e.message, e.transient]),
      [
        ['duplicate definition of community "1:1"', false],
        [
          'invalid community "99999999:1" in BGP advertisement: invalid community value: invalid section "99999999" of community "99999999:1", err: strconv.ParseUint: parsing "99999999": value out of range',
          false,
        ],
        ['invalid community "nosuchalias" in BGP advertisement: invalid community format: nosuchalias (not a Community alias either)', true],
      ],
    );
  }
  // Large communities are accepted (upstream native rejects them; our speaker sends RFC 8092).
  t.ok(parseConfig({ ...base, bgpAdvertisements: [bgpAd('ad', { communities: ['large:1:2:3'] })] }).ok);
});
