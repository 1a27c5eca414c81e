import t from 'tap';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { parseAddressEntry, parseCidr } from '../../src/net/cidr';
import { canonicalIp, formatIp, ipToBytes, isBuggyIp, mustParseIp, parseIp, type IpFamily } from '../../src/net/ip';

/**
 * The forms different parsers disagree on, pinned in one table across addresses, CIDRs and
 * ranges. Each row: input, what it is parsed as, and the family plus canonical text we want
 * (undefined = rejected; for a range, its CIDR list or the error).
 */
type Tricky =
  | readonly [input: string, kind: 'ip' | 'cidr', want: readonly [IpFamily, string] | undefined]
  | readonly [input: string, kind: 'range', want: readonly string[] | RegExp];
const TRICKY: readonly Tricky[] = [
  // v4-mapped IPv6 is IPv6: it keeps the family it was written in, and prints back as IPv6.
  ['::ffff:1.2.3.4', 'ip', [6, '::ffff:102:304']],
  ['::ffff:102:304', 'ip', [6, '::ffff:102:304']],
  ['::FFFF:1.2.3.4', 'ip', [6, '::ffff:102:304']],
  ['0:0:0:0:0:ffff:1.2.3.4', 'ip', [6, '::ffff:102:304']],
  ['::ffff:1.2.3.0/120', 'cidr', [6, '::ffff:102:300/120']],
  ['::ffff:0:0/96', 'cidr', [6, '::ffff:0:0/96']],
  ['::ffff:1.2.3.4/32', 'cidr', [6, '::/32']],
  // The deprecated v4-compatible form is an ordinary IPv6 address (ipaddr.js reads it as mapped).
  ['::1.2.3.4', 'ip', [6, '::102:304']],
  // Zero-padded IPv4 parts are rejected outright: not octal (inet_aton), not decimal
  // (Kubernetes' ParseIPSloppy); Go ≥ 1.17 rejects them too. IPv6 groups may be zero-padded
  // up to four digits.
  ['010.0.0.1', 'ip', undefined],
  ['10.0.0.01', 'ip', undefined],
  ['00.0.0.0', 'ip', undefined],
  ['0.0.0.0', 'ip', [4, '0.0.0.0']],
  ['::ffff:01.2.3.4', 'ip', undefined],
  ['0fd0::0001', 'ip', [6, 'fd0::1']],
  ['00000::1', 'ip', undefined],
  ['010.0.0.0/8', 'cidr', undefined],
  ['10.0.0.0/08', 'cidr', undefined],
  ['010.0.0.1-10.0.0.2', 'range', /invalid start IP "010.0.0.1"/],
  // Zone ids are not part of an address.
  ['fe80::1%eth0', 'ip', undefined],
  ['fe80::1%1', 'ip', undefined],
  ['fe80::1%eth0/64', 'cidr', undefined],
  ['fe80::1%eth0-fe80::2', 'range', /invalid start IP "fe80::1%eth0"/],
  // The unspecified address.
  ['::', 'ip', [6, '::']],
  ['0:0:0:0:0:0:0:0', 'ip', [6, '::']],
  [':::', 'ip', undefined],
  // Full-length IPv6, the longest texts there are (39 and 45 characters).
  ['2001:0db8:0000:0000:0000:ff00:0042:8329', 'ip', [6, '2001:db8::ff00:42:8329']],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ip', [6, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ['0000:0000:0000:0000:0000:ffff:255.255.255.255', 'ip', [6, '::ffff:ffff:ffff']],
  ['0000:0000:0000:0000:0000:0000:0000:0000:0', 'ip', undefined],
  // Whole-space and single-address CIDRs.
  ['0.0.0.0/0', 'cidr', [4, '0.0.0.0/0']],
  ['1.2.3.4/0', 'cidr', [4, '0.0.0.0/0']],
  ['10.0.0.1/32', 'cidr', [4, '10.0.0.1/32']],
  ['10.0.0.1/33', 'cidr', undefined],
  ['1.2.3.4/128', 'cidr', undefined],
  ['::/0', 'cidr', [6, '::/0']],
  ['fd00::1/0', 'cidr', [6, '::/0']],
  ['::/128', 'cidr', [6, '::/128']],
  ['fd00::1/128', 'cidr', [6, 'fd00::1/128']],
  ['::/129', 'cidr', undefined],
  ['0.0.0.0-255.255.255.255', 'range', ['0.0.0.0/0']],
  ['::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'range', ['::/0']],
  ['10.0.0.1-10.0.0.1', 'range', ['10.0.0.1/32']],
  ['fd00::1-fd00::1', 'range', ['fd00::1/128']],
  // Mixed-family ranges: upstream compares 16-byte forms (IPv4 as ::ffff:a.b.c.d); an ordered
  // pair is accepted and covers nothing, a reversed one is "start after end".
  ['1.2.3.4-2001::1', 'range', []],
  ['2001::1-1.2.3.4', 'range', /start IP "2001::1" is after the end IP "1.2.3.4"/],
  ['::ffff:1.2.3.4-1.2.3.5', 'range', []],
  ['1.2.3.5-::ffff:1.2.3.4', 'range', /is after the end IP/],
  ['0.0.0.0-::', 'range', /is after the end IP/],
  ['::ffff:1.2.3.0-::ffff:1.2.3.255', 'range', ['::ffff:102:300/120']],
];

t.test('tricky forms: one reading for config, controller, speaker, ARP and BGP', async (t) => {
  for (const [input, kind, want] of TRICKY) {
    if (kind === 'ip') {
      const ip = parseIp(input);
      t.same(ip && [ip.family, formatIp(ip)], want, `ip ${JSON.stringify(input)}`);
    } else if (kind === 'cidr') {
      const c = parseCidr(input);
      t.same(c && [c.family, c.cidr], want, `cidr ${JSON.stringify(input)}`);
    } else {
      const r = parseAddressEntry(input);
      if (want instanceof RegExp) t.match(r, { ok: false, error: want }, `range ${JSON.stringify(input)}`);
      else t.same(r.ok && r.cidrs.map((c) => c.cidr), want, `range ${JSON.stringify(input)}`);
    }
  }
});

t.test('parseIp is strict like Go net.ParseIP (canonical text)', async (t) => {
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

t.test('parseIp gives family and value as Go net.ParseIP does, v4-mapped aside', async (t) => {
  const ok: [string, IpFamily, bigint][] = [
    ['1.2.3.4', 4, 0x01020304n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['1000::4', 6, (0x1000n << 112n) | 4n],
    ['2001:DB8::1', 6, (0x20010db8n << 96n) | 1n],
    // IPv4-mapped IPv6 stays IPv6 (Go's To4() would make it IPv4; see src/net/ip.ts).
    ['::ffff:1.2.3.4', 6, 0xffff01020304n],
    ['::ffff:102:304', 6, 0xffff01020304n],
    ['::1.2.3.4', 6, 0x01020304n],
    ['1:2:3:4:5:6:7::', 6, 0x00010002000300040005000600070000n],
    ['::2:3:4:5:6:7:8', 6, 0x00000002000300040005000600070008n],
    ['1:2:3:4:5:6:1.2.3.4', 6, 0x00010002000300040005000601020304n],
  ];
  for (const [text, family, value] of ok) {
    t.same(parseIp(text), { family, value }, text);
  }
  const bad = ['', ' 1.2.3.4', '1.2.3.4 ', '1.2.3', '01.2.3.4', '0x1.2.3.4', '256.1.1.1', '1.2.3.4/32', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', ':::', 'foo', '1.2.3.-1', '1:2:3:4:5:6:7:8::', '1::2::3', '12345::', '::1.2.3.4:5', '1:2:3:4:5:6:7', 'g::', '::1.2.3'];
  for (const text of bad) t.equal(parseIp(text), undefined, JSON.stringify(text));
  t.throws(() => mustParseIp('1.2.3'), RangeError);
});

t.test('formatIp matches Go net.IP.String (RFC 5952), v4-mapped printed as IPv6', async (t) => {
  const cases: [string, string][] = [
    ['1.2.3.4', '1.2.3.4'],
    ['1000:0:0:0:0:0:0:4', '1000::4'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['FFFF:0:0:0:0:0:0:0', 'ffff::'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
  ];
  for (const [input, want] of cases) t.equal(formatIp(mustParseIp(input)), want, input);
});

t.test('formatIp agrees with ipaddr.js RFC 5952 text for any IPv6 address', async (t) => {
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
      const text = formatIp({ family: 6, value });
      const ref = new ipaddr.IPv6(groups).toRFC5952String();
      if (text !== ref) throw new Error(`${text} != ${ref}`);
      const back = parseIp(text);
      if (back?.value !== value) throw new Error(`round trip of ${text}`);
    }),
    { numRuns: 500 },
  );
  t.pass('ok');
});

t.test('parse/format round trip (property), v4-mapped values included', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0xffff00000000n, max: 0xffffffffffffn })), (value) => {
      const text = formatIp({ family: 6, value });
      const back = parseIp(text);
      return back !== undefined && back.family === 6 && back.value === value;
    }),
  );
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 0xffffffffn }), (value) => {
      const back = parseIp(formatIp({ family: 4, value }));
      return back !== undefined && back.family === 4 && back.value === value;
    }),
  );
  t.pass('round trips hold');
});

t.test('ipToBytes: network order, 4 or 16 bytes', async (t) => {
  t.same([...ipToBytes(mustParseIp('10.77.0.1'))], [10, 77, 0, 1]);
  t.equal(ipToBytes(mustParseIp('fd00:77::1:2:3:4567')).toString('hex'), 'fd000077000000000001000200034567');
  t.equal(ipToBytes(mustParseIp('::ffff:1.2.3.4')).toString('hex'), '00000000000000000000ffff01020304');
});

t.test('isBuggyIp: IPv4 .0 and .255 only', async (t) => {
  t.ok(isBuggyIp(mustParseIp('1.2.4.0')));
  t.ok(isBuggyIp(mustParseIp('1.2.4.255')));
  t.notOk(isBuggyIp(mustParseIp('1.2.4.254')));
  t.notOk(isBuggyIp(mustParseIp('1000::4:ff')));
  t.notOk(isBuggyIp(mustParseIp('1000::')));
  t.notOk(isBuggyIp(mustParseIp('::ffff:1.2.4.0')), 'a v4-mapped address is IPv6, never buggy');
});
