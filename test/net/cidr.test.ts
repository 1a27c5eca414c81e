import t from 'tap';
import fc from 'fast-check';
import { parseAddressEntry, parseCidr, rangeContains, rangeToCidrs, rangesOverlap } from '../../src/net/cidr';
import { mustParseIp } from '../../src/net/ip';

t.test('parseCidr normalises host bits and rejects bad forms', async (t) => {
  const table: [string, string | undefined][] = [
    ['10.0.0.0/24', '10.0.0.0/24'],
    ['10.20.30.40/24', '10.20.30.0/24'],
    ['10.0.0.1/32', '10.0.0.1/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.0.0.0/33', undefined],
    ['10.0.0.0/-1', undefined],
    ['10.0.0.0/', undefined],
    ['10.0.0.0', undefined], // a bare IP is not a CIDR
    [' 10.0.0.0/8', undefined], // no trimming for CIDRs
    ['10.0.0.0/8 ', undefined],
    ['10.0.0.0/08', undefined],
    ['fd00:77::/64', 'fd00:77::/64'],
    ['fd00:77::5/120', 'fd00:77::/120'],
    ['fd00::/129', undefined],
    ['::/0', '::/0'],
    ['1000::4:0/120', '1000::4:0/120'],
    ['::/129', undefined],
    ['1.2.3.4/-1', undefined],
    ['1.2.3.4/', undefined],
  ];
  for (const [input, want] of table) t.equal(parseCidr(input)?.cidr, want, JSON.stringify(input));
  const c = parseCidr('10.0.0.0/30');
  t.same([c?.first, c?.last, c?.family, c?.prefixLength], [0x0a000000n, 0x0a000003n, 4, 30]);
  t.equal(parseCidr('10.20.30.40/24')?.last, mustParseIp('10.20.30.255').value);
  const v6 = parseCidr('fd00::/64');
  t.equal(v6 && v6.last - v6.first + 1n, 1n << 64n, 'a /64 is a BigInt interval, not an array');
});

t.test('ranges expand to upstream minimal CIDR lists', async (t) => {
  const expand = (e: string): string[] | string => {
    const r = parseAddressEntry(e);
    return r.ok ? r.cidrs.map((c) => c.cidr) : r.error;
  };
  // Upstream's range summarisation vector.
  t.same(
    (expand('3.3.3.2-3.3.3.254') as string[]).map((c) => c.split('/')[1]),
    ['31', '30', '29', '28', '27', '26', '26', '27', '28', '29', '30', '31', '32'],
  );
  t.same(expand('10.0.0.0-10.0.0.255'), ['10.0.0.0/24']);
  t.same(expand('10.0.0.5-10.0.0.5'), ['10.0.0.5/32'], 'single-address range');
  t.same(expand('10.0.0.1 - 10.0.0.2'), ['10.0.0.1/32', '10.0.0.2/32'], 'sides are trimmed');
  t.same(expand('fd00::-fd00::ff'), ['fd00::/120']);
  t.same(expand('fd00::1-fd00::2'), ['fd00::1/128', 'fd00::2/128']);
  t.same(expand('0.0.0.0-255.255.255.255'), ['0.0.0.0/0']);
  t.same(expand('10.0.0.9-10.0.0.1'), 'invalid IP range "10.0.0.9-10.0.0.1": start IP "10.0.0.9" is after the end IP "10.0.0.1"');
  t.same(expand('10.0.0.x-10.0.0.1'), 'invalid IP range "10.0.0.x-10.0.0.1": invalid start IP "10.0.0.x"');
  t.same(expand('10.0.0.1-'), 'invalid IP range "10.0.0.1-": invalid end IP ""');
  t.same(expand('10.0.0.1-10.0.0.2-10.0.0.3'), 'invalid IP range "10.0.0.1-10.0.0.2-10.0.0.3": invalid end IP "10.0.0.2-10.0.0.3"');
  t.same(expand('10.0.0.0/33'), 'invalid CIDR "10.0.0.0/33"');
  // QUIRK kept from upstream: a mixed-family range contributes nothing but is accepted.
  const mixed = parseAddressEntry('1.2.3.4-2001::1');
  t.same(mixed, { ok: true, family: undefined, cidrs: [] });
  t.match(parseAddressEntry('2001::1-1.2.3.4'), { ok: false, error: /is after the end IP/ });
});

t.test("rangeToCidrs gives upstream's minimal ordered list", async (t) => {
  const cidrs = rangeToCidrs({ family: 4, first: mustParseIp('3.3.3.2').value, last: mustParseIp('3.3.3.254').value });
  t.same(
    cidrs.map((c) => `/${c.prefixLength}`),
    ['/31', '/30', '/29', '/28', '/27', '/26', '/26', '/27', '/28', '/29', '/30', '/31', '/32'],
  );
  t.equal(cidrs[0]!.cidr, '3.3.3.2/31');
  t.equal(cidrs[12]!.cidr, '3.3.3.254/32');
  t.same(rangeToCidrs({ family: 6, first: 0n, last: (1n << 128n) - 1n }).map((c) => c.cidr), ['::/0']);
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 0xffffffffn }), fc.bigInt({ min: 0n, max: 0xffffffffn }), (a, b) => {
      const [first, last] = a <= b ? [a, b] : [b, a];
      const list = rangeToCidrs({ family: 4, first, last });
      let next = first;
      for (const c of list) {
        if (c.first !== next) return false;
        next = c.last + 1n;
      }
      return next === last + 1n && list.length <= 62;
    }),
  );
});

t.test('range summary covers exactly [first, last] with aligned, maximal blocks', async (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: 1n << 20n }), (first, span) => {
      const last = first + span > (1n << 128n) - 1n ? (1n << 128n) - 1n : first + span;
      const cidrs = rangeToCidrs({ family: 6, first, last });
      let cur = first;
      for (const c of cidrs) {
        if (c.first !== cur) throw new Error('gap or overlap');
        if (((c.last - c.first + 1n) & (c.last - c.first)) !== 0n) throw new Error('not a power of two');
        cur = c.last + 1n;
      }
      if (cur - 1n !== last) throw new Error('does not end at last');
      if (cidrs.length > 2 * 128) throw new Error('not minimal');
    }),
    { numRuns: 300 },
  );
  t.pass('ok');
});

t.test('rangesOverlap: equal, nested, disjoint, other family', async (t) => {
  const c = (s: string) => parseCidr(s)!;
  t.ok(rangesOverlap(c('10.0.0.0/24'), c('10.0.0.0/24')));
  t.ok(rangesOverlap(c('10.0.0.0/24'), c('10.0.0.128/25')));
  t.ok(rangesOverlap(c('10.0.0.128/25'), c('10.0.0.0/16')));
  t.notOk(rangesOverlap(c('10.0.0.0/25'), c('10.0.0.128/25')));
  t.notOk(rangesOverlap(c('0.0.0.0/0'), c('::/0')));
});

t.test('rangeContains: inclusive bounds, family must match', async (t) => {
  const c = parseCidr('10.0.0.0/24')!;
  t.ok(rangeContains(c, mustParseIp('10.0.0.0')));
  t.ok(rangeContains(c, mustParseIp('10.0.0.255')));
  t.notOk(rangeContains(c, mustParseIp('10.0.1.0')));
  t.notOk(rangeContains(c, mustParseIp('::ffff:10.0.0.1')), 'a v4-mapped address is not in an IPv4 CIDR');
  t.ok(rangeContains(parseCidr('::ffff:10.0.0.0/120')!, mustParseIp('::ffff:10.0.0.1')));
});
