import t from 'tap';
import fc from 'fast-check';
import {
  formatCidr,
  formatIp,
  goQuote,
  goQuoteList,
  isBuggyIp,
  mustParseIp,
  parseCidr,
  parseIp,
  rangeToCidrs,
} from '../../src/controller/ip-addr';

t.test('parseIp follows Go net.ParseIP', async (t) => {
  const ok: [string, 4 | 6, bigint][] = [
    ['1.2.3.4', 4, 0x01020304n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['1000::4', 6, (0x1000n << 112n) | 4n],
    ['2001:DB8::1', 6, (0x20010db8n << 96n) | 1n],
    // IPv4-mapped IPv6 is an IPv4 address for Go (To4() != nil).
    ['::ffff:1.2.3.4', 4, 0x01020304n],
    ['::ffff:102:304', 4, 0x01020304n],
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
});

t.test('formatIp matches Go net.IP.String (RFC 5952)', async (t) => {
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
    ['::ffff:1.2.3.4', '1.2.3.4'],
  ];
  for (const [input, want] of cases) t.equal(formatIp(mustParseIp(input)), want, input);
});

t.test('parse/format round trip (property)', async (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
      if (value >> 32n === 0xffffn) return; // mapped addresses become IPv4 by design
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

t.test('parseCidr clears host bits and rejects bare IPs', async (t) => {
  const c = parseCidr('10.20.30.40/24');
  t.ok(c);
  if (c) {
    t.equal(formatCidr(c), '10.20.30.0/24');
    t.equal(c.last, mustParseIp('10.20.30.255').value);
  }
  const c6 = parseCidr('1000::4:0/120');
  t.ok(c6);
  if (c6) t.equal(formatCidr(c6), '1000::4:0/120');
  for (const bad of ['10.0.0.0', '10.0.0.0/33', ' 10.0.0.0/8', '::/129', '1.2.3.4/-1', '1.2.3.4/']) {
    t.equal(parseCidr(bad), undefined, bad);
  }
});

t.test('rangeToCidrs gives upstream\'s minimal ordered list (§2.2 vector)', async (t) => {
  const cidrs = rangeToCidrs({ family: 4, first: mustParseIp('3.3.3.2').value, last: mustParseIp('3.3.3.254').value });
  t.same(
    cidrs.map((c) => `/${c.prefixLen}`),
    ['/31', '/30', '/29', '/28', '/27', '/26', '/26', '/27', '/28', '/29', '/30', '/31', '/32'],
  );
  t.equal(formatCidr(cidrs[0]!), '3.3.3.2/31');
  t.equal(formatCidr(cidrs[12]!), '3.3.3.254/32');
  t.same(rangeToCidrs({ family: 6, first: 0n, last: (1n << 128n) - 1n }).map(formatCidr), ['::/0']);
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

t.test('isBuggyIp: IPv4 .0 and .255 only', async (t) => {
  t.ok(isBuggyIp(mustParseIp('1.2.4.0')));
  t.ok(isBuggyIp(mustParseIp('1.2.4.255')));
  t.notOk(isBuggyIp(mustParseIp('1.2.4.254')));
  t.notOk(isBuggyIp(mustParseIp('1000::4:ff')));
  t.notOk(isBuggyIp(mustParseIp('1000::')));
});

t.test('Go %q formatting', async (t) => {
  t.equal(goQuote('a"b\\c\n'), '"a\\"b\\\\c\\n"');
  t.equal(goQuoteList([mustParseIp('1.2.3.4'), mustParseIp('1000::1')]), '["1.2.3.4" "1000::1"]');
  t.equal(goQuoteList([]), '[]');
});
