import t from 'tap';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import {
  ipv6ToString,
  isGroupMac,
  macToBytes,
  normaliseMac,
  parseIpBytes,
  solicitedNodeAddress,
  solicitedNodeMac,
  writeIpv4,
} from '../../src/arp/addr';
import { ErrorCode } from '../../src/util/errors';

t.test('ipv6ToString matches ipaddr.js RFC 5952 text for any 16 bytes', async (t) => {
  // Bias towards zero groups so compression edge cases (ties, runs at either end) come up often.
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const buf = Buffer.alloc(16);
      groups.forEach((g, i) => buf.writeUInt16BE(g, 2 * i));
      const ours = ipv6ToString(buf);
      const theirs = (ipaddr.fromByteArray([...buf]) as ipaddr.IPv6).toRFC5952String();
      return ours === theirs;
    }),
    { numRuns: 2000 },
  );
  t.equal(ipv6ToString(Buffer.alloc(16)), '::');
  t.equal(ipv6ToString(Buffer.from('20010db8000000010000000000000001', 'hex')), '2001:db8:0:1::1');
  t.equal(ipv6ToString(Buffer.from('20010db8000000000001000000000001', 'hex')), '2001:db8::1:0:0:1', 'first of two equal runs');
});

t.test('parseIpBytes canonicalises and rejects garbage with BadAddress', async (t) => {
  t.same(parseIpBytes('10.77.0.100').text, '10.77.0.100');
  t.equal(parseIpBytes('FD00:0077:0000::0100').text, 'fd00:77::100');
  t.equal(parseIpBytes('fd00:77::100').family, 6);
  for (const bad of ['', '10.77.0', '010.77.0.1', '10.77.0.256', 'fd00:::1', 'fe80::1%eth0', 'eth0']) {
    t.throws(() => parseIpBytes(bad), { name: "MetalLbError", code: ErrorCode.BadAddress }, bad);
  }
});

t.test('writeIpv4 rejects what is not a dotted quad', async (t) => {
  const buf = Buffer.alloc(4);
  writeIpv4(buf, 0, '10.77.0.1');
  t.same([...buf], [10, 77, 0, 1]);
  for (const bad of ['10.77.0', '10.77.0.1.2', '10.77.0.300', '10.77..1', 'a.b.c.d', '10.77.0.-1']) {
    t.throws(() => writeIpv4(buf, 0, bad), { code: ErrorCode.BadAddress }, bad);
  }
});

t.test('MAC helpers', async (t) => {
  t.equal(normaliseMac('02-00-00-AB-cd-0F'), '02:00:00:ab:cd:0f');
  t.same([...macToBytes('33:33:ff:00:00:01')], [0x33, 0x33, 0xff, 0, 0, 1]);
  t.throws(() => macToBytes('02:00:00:00:00'), { code: ErrorCode.BadAddress });
  t.throws(() => macToBytes('02:00-00:00:00:00'), { code: ErrorCode.BadAddress }, 'mixed separators');
  t.ok(isGroupMac('ff:ff:ff:ff:ff:ff'));
  t.ok(isGroupMac('33:33:ff:00:00:01'));
  t.notOk(isGroupMac('02:00:00:00:00:0a'));
});

t.test('solicited-node group and MAC (RFC 4291 §2.7.1, RFC 2464 §7)', async (t) => {
  const ip = parseIpBytes('fd00:77::1:2:3:4567').bytes;
  t.equal(solicitedNodeAddress(ip), 'ff02::1:ff03:4567');
  t.equal(solicitedNodeMac(ip), '33:33:ff:03:45:67');
});
