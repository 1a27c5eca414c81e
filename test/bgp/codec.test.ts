import t from 'tap';
import ipaddr from 'ipaddr.js';
import { decode, encode, Framer, endOfRib, endOfRibFamily, parseIpv4, parseIpv6, updateErrorAction } from '../../src/bgp/codec';
import type { Message } from '../../src/bgp/codec';
import { AttrErrorAction, BgpError } from '../../src/bgp/errors';
import { attribute, bytes, capParam, message, openBody, updateBody } from '../fixtures/bgp/builder';
import type { Bytes } from '../fixtures/bgp/builder';
import { vectors as baseVectors } from '../fixtures/bgp/vectors';
import { enheVectors } from '../fixtures/bgp/vectors-enhe';

const vectors = [...baseVectors, ...enheVectors];

t.test('byte vectors', async (t) => {
  t.ok(vectors.length >= 20, 'the vector table is populated');
  for (const v of vectors) {
    t.test(v.name, async (t) => {
      const wire = v.wire.build();
      const extra = { annotated: v.wire.annotate() };
      t.same(decode(wire, v.ctx), v.msg, 'decode', extra);
      if (!v.decodeOnly) {
        t.equal(encode(v.msg, v.ctx).toString('hex'), wire.toString('hex'), 'encode', extra);
        t.equal(encode(decode(wire, v.ctx), v.ctx).toString('hex'), wire.toString('hex'), 'round trip bytes');
      }
      t.same(decode(encode(v.msg, v.ctx), v.ctx), v.msg, 'round trip model');
      // A message sitting inside a bigger buffer (as Buffer pools and the framer hand them out).
      const big = Buffer.concat([Buffer.from('abcdefg'), wire, Buffer.from('xyz')]);
      t.same(decode(big.subarray(7, 7 + wire.length), v.ctx), v.msg, 'decode at an offset');
      // Every 1-byte chunking through the framer, twice in a row.
      const framer = new Framer();
      const got: Buffer[] = [];
      const stream = Buffer.concat([wire, wire]);
      for (let i = 0; i < stream.length; i++) got.push(...framer.push(stream.subarray(i, i + 1)));
      t.equal(got.length, 2, 'framer yields both messages from 1-byte chunks');
      for (const m of got) t.same(decode(m, v.ctx), v.msg);
      t.equal(framer.buffered, 0, 'nothing left buffered');
    });
  }
});

t.test('framer: one chunk holding several messages and a partial one', async (t) => {
  const ka = message(4, bytes(), 'KEEPALIVE').build();
  const f = new Framer();
  const out = f.push(Buffer.concat([ka, ka, ka.subarray(0, 5)]));
  t.equal(out.length, 2);
  t.equal(f.buffered, 5);
  t.equal(f.push(ka.subarray(5)).length, 1);
});

t.test('framer: whole messages before a bad header in the same chunk are delivered', async (t) => {
  // Regression: they were lost with the error, so a NOTIFICATION the peer sent just before
  // garbage was never read or logged.
  const ka = message(4, bytes(), 'KEEPALIVE').build();
  const bad = Buffer.alloc(19, 0);
  const f = new Framer();
  const out = f.push(Buffer.concat([ka, ka, bad]));
  t.equal(out.length, 2, 'both KEEPALIVEs');
  t.match(f.error, { code: 1, subcode: 1 }, 'then the header error (connection not synchronized)');
  t.throws(() => f.push(ka), { code: 1, subcode: 1 }, 'and the stream stays failed');
  const g = new Framer();
  t.throws(() => g.push(bad), { code: 1, subcode: 1 }, 'a bad header first still throws at once');
});

t.test('End-of-RIB helpers', async (t) => {
  t.same(endOfRibFamily(endOfRib({ afi: 1, safi: 1 })), { afi: 1, safi: 1 });
  t.same(endOfRibFamily(endOfRib({ afi: 2, safi: 1 })), { afi: 2, safi: 1 });
  const v = vectors.find((x) => x.name.startsWith('UPDATE IPv6 MP_UNREACH'))!;
  t.equal(endOfRibFamily(v.msg as Extract<Message, { type: 2 }>), undefined, 'a real withdrawal is not End-of-RIB');
});

const ff = 'ff'.repeat(16);
/** A message with an explicit (possibly wrong) length field. */
function raw(length: number, type: number, bodyHex = ''): Buffer {
  const b = Buffer.from(ff + '0000' + type.toString(16).padStart(2, '0') + bodyHex.replace(/\s+/g, ''), 'hex');
  b.writeUInt16BE(length, 16);
  return b;
}
const upd = (attrs: Bytes, nlri: Bytes = bytes().prefix('10.77.0.100/32'), withdrawn: Bytes = bytes()): Buffer =>
  message(2, updateBody(withdrawn, attrs, nlri), 'UPDATE').build();
const origin = attribute(0x40, 1, bytes().u8(0, 'IGP'), 'ORIGIN');
const asPath = attribute(0x40, 2, bytes().hex('02 01 0000fbf4', 'AS_SEQUENCE [64500]'), 'AS_PATH');
const nh = attribute(0x40, 3, bytes().ip('10.77.0.11', 'nh'), 'NEXT_HOP');
const good = (): Bytes => bytes().append(origin).append(asPath).append(nh);
const mpReach = (value: string, flags = 0x80): Bytes => attribute(flags, 14, bytes().hex(value, 'MP_REACH value'), 'MP_REACH');

interface Fatal {
  name: string;
  wire: Buffer;
  code: number;
  subcode: number;
  data?: string;
  framer?: boolean;
}

const fatal: Fatal[] = [
  { name: 'short: fewer octets than a header', wire: Buffer.from(ff + '0013', 'hex'), code: 1, subcode: 2 },
  { name: 'bad marker', wire: Buffer.from('fe' + ff.slice(2) + '001304', 'hex'), code: 1, subcode: 1, framer: true },
  { name: 'length field 18', wire: raw(18, 4), code: 1, subcode: 2, data: '0012', framer: true },
  { name: 'length field 4097', wire: raw(4097, 4), code: 1, subcode: 2, data: '1001', framer: true },
  { name: 'truncated: header says 30, 29 given', wire: raw(30, 2, '00 00 00 00 0000000000'), code: 1, subcode: 2 },
  { name: 'long: KEEPALIVE of 20 octets', wire: raw(20, 4, '00'), code: 1, subcode: 2, data: '0014' },
  { name: 'unknown message type 7', wire: raw(19, 7), code: 1, subcode: 3, data: '07' },
  { name: 'empty NOTIFICATION body', wire: raw(19, 3), code: 1, subcode: 2 },
  { name: 'OPEN shorter than 29', wire: raw(28, 1, '04 fbf4 005a 0a000001'), code: 1, subcode: 2 },
  { name: 'UPDATE shorter than 23', wire: raw(22, 2, '0000 00'), code: 1, subcode: 2 },
  { name: 'ROUTE-REFRESH of 24 octets', wire: raw(24, 5, '0001 00 01 00'), code: 7, subcode: 1 },
  { name: 'BoRR of 24 octets (RFC 7313 §5)', wire: raw(24, 5, '0001 01 01 00'), code: 7, subcode: 1 },
  { name: 'EoRR of 22 octets', wire: raw(22, 5, '0001 02'), code: 7, subcode: 1 },
  {
    name: 'OPEN optional parameter length past the end',
    wire: message(1, openBody(64500, 90, '10.0.0.1', bytes()).append(bytes()), 'OPEN').build().fill(5, 28, 29),
    code: 2,
    subcode: 0,
  },
  {
    name: 'OPEN unsupported optional parameter type 1',
    wire: message(1, openBody(64500, 90, '10.0.0.1', bytes().hex('01 02 0000', 'param type 1 (auth)')), 'OPEN').build(),
    code: 2,
    subcode: 4,
  },
  {
    name: 'OPEN capability truncated',
    wire: message(1, openBody(64500, 90, '10.0.0.1', capParam(bytes().hex('01 04 0001', 'MP cut short'))), 'OPEN').build(),
    code: 2,
    subcode: 0,
  },
  {
    name: 'OPEN multiprotocol capability of length 3',
    wire: message(1, openBody(64500, 90, '10.0.0.1', capParam(bytes().hex('01 03 000101', 'MP len 3'))), 'OPEN').build(),
    code: 2,
    subcode: 0,
  },
  {
    name: 'OPEN extended next hop capability of length 0 (RFC 8950 §3)',
    wire: message(1, openBody(64500, 90, '10.0.0.1', capParam(bytes().hex('05 00', 'ENHE len 0'))), 'OPEN').build(),
    code: 2,
    subcode: 0,
  },
  {
    name: 'OPEN extended next hop capability of length 5',
    wire: message(1, openBody(64500, 90, '10.0.0.1', capParam(bytes().hex('05 05 0001000100', 'ENHE len 5'))), 'OPEN').build(),
    code: 2,
    subcode: 0,
  },
  {
    name: 'OPEN graceful restart capability of length 3',
    wire: message(1, openBody(64500, 90, '10.0.0.1', capParam(bytes().hex('40 03 007800', 'GR len 3'))), 'OPEN').build(),
    code: 2,
    subcode: 0,
  },
  { name: 'UPDATE withdrawn length overruns', wire: raw(23, 2, '0005 0000'), code: 3, subcode: 1 },
  { name: 'UPDATE attribute length overruns', wire: raw(23, 2, '0000 0009'), code: 3, subcode: 1 },
  { name: 'UPDATE withdrawn prefix /33', wire: upd(bytes(), bytes(), bytes().hex('21 0a000001 00', '/33')), code: 3, subcode: 10 },
  { name: 'UPDATE NLRI /33', wire: upd(good(), bytes().hex('21 0a00000100', '/33')), code: 3, subcode: 10 },
  { name: 'UPDATE NLRI truncated', wire: upd(good(), bytes().hex('18 0a00', '/24 with two octets')), code: 3, subcode: 10 },
  {
    name: 'unrecognized well-known attribute',
    wire: upd(good().append(attribute(0x40, 50, bytes().hex('00', 'x'), 'type 50'))),
    code: 3,
    subcode: 2,
  },
  // RFC 4271 §6.3: an Optional Attribute Error carries the attribute (flags, type, length, value).
  { name: 'MP_REACH next hop length 5', wire: upd(bytes().append(origin).append(asPath).append(mpReach('0002 01 05 0000000000 00')), bytes()), code: 3, subcode: 9, data: '800e0a' + '00020105000000000000' },
  { name: 'MP_REACH unsupported AFI 3', wire: upd(bytes().append(origin).append(asPath).append(mpReach('0003 01 04 0a000001 00')), bytes()), code: 3, subcode: 9, data: '800e09' + '000301040a00000100' },
  {
    name: 'MP_REACH IPv6 prefix /129',
    wire: upd(bytes().append(origin).append(asPath).append(mpReach('0002 01 10 fd000077000000000000000000000011 00 81' + '00'.repeat(17))), bytes()),
    code: 3,
    subcode: 9,
  },
  { name: 'MP_REACH with well-known flags', wire: upd(bytes().append(origin).append(asPath).append(mpReach('0002 01 04 0a000001 00', 0x40)), bytes()), code: 3, subcode: 4 },
  {
    name: 'MP_REACH twice',
    wire: upd(bytes().append(origin).append(asPath).append(mpReach('0002 01 10 fd000077000000000000000000000011 00')).append(mpReach('0002 01 10 fd000077000000000000000000000011 00')), bytes()),
    code: 3,
    subcode: 1,
  },
  { name: 'MP_UNREACH of length 2', wire: upd(attribute(0x80, 15, bytes().hex('0002', 'AFI only'), 'MP_UNREACH'), bytes()), code: 3, subcode: 9, data: '800f020002' },
];

t.test('negative table: errors that reset the session', async (t) => {
  for (const c of fatal) {
    t.test(c.name, async (t) => {
      const err = (() => {
        try {
          decode(c.wire, { fourOctetAs: true });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      t.ok(err instanceof BgpError, 'throws BgpError');
      const e = err as BgpError;
      t.same([e.code, e.subcode], [c.code, c.subcode], e.message);
      t.equal(e.action, AttrErrorAction.SessionReset);
      if (c.data !== undefined) t.equal(e.data.toString('hex'), c.data, 'NOTIFICATION data');
      if (c.framer) {
        const f = new Framer();
        t.throws(() => f.push(c.wire), { code: c.code, subcode: c.subcode }, 'framer rejects it');
        t.throws(() => f.push(Buffer.alloc(1)), { code: c.code }, 'framer stays failed');
      }
    });
  }
});

interface NonFatal {
  name: string;
  wire: Buffer;
  code: number;
  subcode: number;
  action: AttrErrorAction;
  fourOctetAs?: boolean;
}

const TAW = AttrErrorAction.TreatAsWithdraw;
const DISCARD = AttrErrorAction.AttributeDiscard;
const nonFatal: NonFatal[] = [
  { name: 'ORIGIN with optional flag', wire: upd(bytes().append(attribute(0xc0, 1, bytes().u8(0, 'IGP'), 'ORIGIN')).append(asPath).append(nh)), code: 3, subcode: 4, action: TAW },
  { name: 'bad origin value 3', wire: upd(bytes().append(attribute(0x40, 1, bytes().u8(3, 'bad'), 'ORIGIN')).append(asPath).append(nh)), code: 3, subcode: 6, action: TAW },
  { name: 'ORIGIN of length 2', wire: upd(bytes().append(attribute(0x40, 1, bytes().hex('0000', 'x'), 'ORIGIN')).append(asPath).append(nh)), code: 3, subcode: 5, action: TAW },
  { name: 'malformed AS_PATH: segment type 5', wire: upd(bytes().append(origin).append(attribute(0x40, 2, bytes().hex('05 01 0000fbf4', 'bad type'), 'AS_PATH')).append(nh)), code: 3, subcode: 11, action: TAW },
  { name: 'malformed AS_PATH: count overruns', wire: upd(bytes().append(origin).append(attribute(0x40, 2, bytes().hex('02 02 0000fbf4', 'count 2, one AS'), 'AS_PATH')).append(nh)), code: 3, subcode: 11, action: TAW },
  { name: 'malformed AS_PATH: empty segment', wire: upd(bytes().append(origin).append(attribute(0x40, 2, bytes().hex('02 00', 'count 0'), 'AS_PATH')).append(nh)), code: 3, subcode: 11, action: TAW },
  {
    name: 'malformed AS_PATH: 4-octet path read as 2-octet',
    wire: upd(bytes().append(origin).append(attribute(0x40, 2, bytes().hex('02 01 0000fbf4', '4-octet'), 'AS_PATH')).append(nh)),
    code: 3,
    subcode: 11,
    action: TAW,
    fourOctetAs: false,
  },
  { name: 'bad next hop length 5', wire: upd(bytes().append(origin).append(asPath).append(attribute(0x40, 3, bytes().hex('0a4d000b00', 'x'), 'NEXT_HOP'))), code: 3, subcode: 5, action: TAW },
  { name: 'bad next hop 0.0.0.0', wire: upd(bytes().append(origin).append(asPath).append(attribute(0x40, 3, bytes().ip('0.0.0.0', 'x'), 'NEXT_HOP'))), code: 3, subcode: 8, action: TAW },
  { name: 'bad next hop multicast', wire: upd(bytes().append(origin).append(asPath).append(attribute(0x40, 3, bytes().ip('224.0.0.5', 'x'), 'NEXT_HOP'))), code: 3, subcode: 8, action: TAW },
  { name: 'duplicate attribute (ORIGIN twice)', wire: upd(good().append(origin)), code: 3, subcode: 1, action: DISCARD },
  { name: 'missing well-known ORIGIN', wire: upd(bytes().append(asPath).append(nh)), code: 3, subcode: 3, action: TAW },
  { name: 'missing well-known NEXT_HOP', wire: upd(bytes().append(origin).append(asPath)), code: 3, subcode: 3, action: TAW },
  { name: 'MED of length 3', wire: upd(good().append(attribute(0x80, 4, bytes().hex('000001', 'x'), 'MED'))), code: 3, subcode: 5, action: TAW },
  { name: 'LOCAL_PREF of length 2', wire: upd(good().append(attribute(0x40, 5, bytes().hex('0001', 'x'), 'LOCAL_PREF'))), code: 3, subcode: 5, action: TAW },
  { name: 'COMMUNITIES of length 6', wire: upd(good().append(attribute(0xc0, 8, bytes().hex('000000010000', 'x'), 'COMMUNITIES'))), code: 3, subcode: 5, action: TAW },
  { name: 'LARGE_COMMUNITY of length 8', wire: upd(good().append(attribute(0xc0, 32, bytes().hex('0000000100000002', 'x'), 'LARGE'))), code: 3, subcode: 5, action: TAW },
  { name: 'ATOMIC_AGGREGATE of length 1', wire: upd(good().append(attribute(0x40, 6, bytes().hex('00', 'x'), 'ATOMIC_AGGREGATE'))), code: 3, subcode: 5, action: DISCARD },
  { name: 'AGGREGATOR of length 5', wire: upd(good().append(attribute(0xc0, 7, bytes().hex('0000000001', 'x'), 'AGGREGATOR'))), code: 3, subcode: 5, action: DISCARD },
  { name: 'attribute overruns the attribute list', wire: upd(good().append(bytes().hex('c0 08 09 00000001', 'COMMUNITIES claims 9, has 4'))), code: 3, subcode: 5, action: TAW },
  { name: 'attribute header truncated', wire: upd(good().append(bytes().hex('c0 08', 'flags and type only'))), code: 3, subcode: 1, action: TAW },
];

t.test('negative table: RFC 7606 errors that keep the session', async (t) => {
  for (const c of nonFatal) {
    t.test(c.name, async (t) => {
      const msg = decode(c.wire, { fourOctetAs: c.fourOctetAs ?? true });
      t.equal(msg.type, 2);
      if (msg.type !== 2) return;
      t.ok(msg.attrErrors && msg.attrErrors.length > 0, 'error recorded');
      const e = msg.attrErrors![0]!;
      t.same([e.code, e.subcode, e.action], [c.code, c.subcode, c.action], e.reason);
      t.equal(updateErrorAction(msg), c.action);
    });
  }
});

t.test('duplicate attribute keeps the first occurrence', async (t) => {
  const wire = upd(good().append(attribute(0x40, 1, bytes().u8(2, 'INCOMPLETE'), 'ORIGIN again')));
  const msg = decode(wire, { fourOctetAs: true });
  t.equal(msg.type === 2 && msg.attributes.origin, 0);
});

t.test('IPv6 and IPv4 text parsing agrees with ipaddr.js', async (t) => {
  const good = ['::', '::1', '1::', 'fd00:77::11', '1:2:3:4:5:6:7:8', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', 'FD00::A', '1::2:3', '0:0:0:0:0:0:0:0'];
  const bad = [':1', '1:', '1:::2', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', ':', '', '1.2.3.4'];
  const out = new Uint8Array(16);
  for (const s of good) {
    t.ok(parseIpv6(s, out, 0), `${s} parses`);
    t.same(Array.from(out), ipaddr.parse(s).toByteArray(), `${s} bytes`);
  }
  for (const s of bad) t.notOk(parseIpv6(s, out, 0), `${s} rejected`);
  t.equal(parseIpv4('10.77.0.1'), 0x0a4d0001);
  for (const s of ['10.77.0', '10.77.0.256', '10.077.0.1', '1.2.3.4.5', 'a.b.c.d', '']) t.equal(parseIpv4(s), undefined, `${s} rejected`);
});

t.test('RFC 7313 §5: a ROUTE-REFRESH of an unknown subtype is ignored whatever its length, not an error', async (t) => {
  t.same(decode(raw(27, 5, '0001 07 01 deadbeef')), { type: 5, afi: 1, safi: 1, subtype: 7 }, 'decoded (the FSM ignores it)');
  t.same(decode(raw(23, 5, '0002 ff 01')), { type: 5, afi: 2, safi: 1, subtype: 255 });
});
