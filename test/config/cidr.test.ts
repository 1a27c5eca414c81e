import t from 'tap';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import {
  canonicalIp,
  cidrsOverlap,
  formatIp,
  parseAddressEntry,
  parseCidr,
  parseIp,
  rangeToCidrs,
} from '../../src/config/cidr';

t.test('parseIp is strict like Go net.ParseIP', async (t) => {
  const table: [string, string | undefined][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['255.255.255.255', '255.255.255.255'],
    ['0.0.0.0', '0.0.0.0'],
    ['010.0.0.1', undefined], // leading zeros rejected (Go ≥ 1.17)
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    [' 1.2.3.4', undefined],
    ['1.2.3.4 ', undefined],
    ['', undefined],
    ['::', '::'],
    ['::1', '::1'],
    ['fd00:77::1', 'fd00:77::1'],
    ['FD00:0077:0:0:0:0:0:0001', 'fd00:77::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952 §4.2.3: leftmost longest run
    ['2001:db8::0:1', '2001:db8::1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'], // a single zero group is not compressed
    ['::ffff:1.2.3.4', '::ffff:102:304'],
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['1:::2', undefined],
    ['12345::', undefined],
    ['fe80::1%eth0', undefined], // zones are not addresses
    ['1:2:3:4:5:6:7:8::', undefined],
  ];
  for (const [input, want] of table) t.equal(canonicalIp(input), want, JSON.stringify(input));
});

t.test('formatIp agrees with ipaddr.js RFC 5952 text for any IPv6 address', async (t) => {
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
      const text = formatIp(6, value);
      const ref = new ipaddr.IPv6(groups).toRFC5952String();
      if (text !== ref) throw new Error(`${text} != ${ref}`);
      const back = parseIp(text);
      if (back?.value !== value) throw new Error(`round trip of ${text}`);
    }),
    { numRuns: 500 },
  );
  t.pass('ok');
});

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
  ];
  for (const [input, want] of table) t.equal(parseCidr(input)?.cidr, want, JSON.stringify(input));
  const c = parseCidr('10.0.0.0/30');
  t.same([c?.first, c?.last, c?.family, c?.prefixLength], [0x0a000000n, 0x0a000003n, 4, 30]);
  const v6 = parseCidr('fd00::/64');
  t.equal(v6 && v6.last - v6.first + 1n, 1n << 64n, 'a /64 is a BigInt interval, not an array');
});

t.test('ranges expand to upstream minimal CIDR lists', async (t) => {
  const expand = (e: string): string[] | string => {
    const r = parseAddressEntry(e);
    return r.ok ? r.cidrs.map((c) => c.cidr) : r.error;
  };
  // The spec's derived vector (§2.2).
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

t.test('range summary covers exactly [first, last] with aligned, maximal blocks', async (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: 1n << 20n }), (first, span) => {
      const last = first + span > (1n << 128n) - 1n ? (1n << 128n) - 1n : first + span;
      const cidrs = rangeToCidrs(6, first, last);
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

t.test('cidrsOverlap: equal, nested, disjoint, other family', async (t) => {
  const c = (s: string) => parseCidr(s)!;
  t.ok(cidrsOverlap(c('10.0.0.0/24'), c('10.0.0.0/24')));
  t.ok(cidrsOverlap(c('10.0.0.0/24'), c('10.0.0.128/25')));
  t.ok(cidrsOverlap(c('10.0.0.128/25'), c('10.0.0.0/16')));
  t.notOk(cidrsOverlap(c('10.0.0.0/25'), c('10.0.0.128/25')));
  t.notOk(cidrsOverlap(c('0.0.0.0/0'), c('::/0')));
});
