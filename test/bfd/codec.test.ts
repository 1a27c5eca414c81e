import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { BfdState, decode, describeDiag, Diag, DiscardCode, encode } from '../../src/bfd/codec';
import type { ControlPacket } from '../../src/bfd/codec';
import { ErrorCode } from '../../src/util/errors';
import { bytes } from '../fixtures/bgp/builder';
import { authSection, control, type RawControl } from '../fixtures/bfd/builder';
import { controlPacket } from '../fixtures/bfd/packets';

const base: RawControl = {
  diag: 0,
  state: 1,
  detectMult: 3,
  myDisc: 1,
  yourDisc: 0,
  desiredMinTxUs: 1_000_000,
  requiredMinRxUs: 300_000,
  requiredMinEchoRxUs: 0,
};
const model: ControlPacket = controlPacket();

const vectors: { name: string; wire: RawControl; packet: ControlPacket; hex: string }[] = [
  {
    name: 'Down, slow start (first packet of a session)',
    wire: base,
    packet: model,
    hex: '20 40 03 18 00000001 00000000 000f4240 000493e0 00000000',
  },
  {
    name: 'Init answering the peer',
    wire: { ...base, state: 2, myDisc: 0x11223344, yourDisc: 0xdeadbeef },
    packet: { ...model, state: BfdState.Init, myDiscriminator: 0x11223344, yourDiscriminator: 0xdeadbeef },
    hex: '20 80 03 18 11223344 deadbeef 000f4240 000493e0 00000000',
  },
  {
    name: 'Up with Poll, configured 300 ms x 3',
    wire: { ...base, state: 3, flags: 'P', myDisc: 7, yourDisc: 9, desiredMinTxUs: 300_000 },
    packet: { ...model, state: BfdState.Up, poll: true, myDiscriminator: 7, yourDiscriminator: 9, desiredMinTxUs: 300_000 },
    hex: '20 e0 03 18 00000007 00000009 000493e0 000493e0 00000000',
  },
  {
    name: 'Up with Final and C, echo RX 50 ms, maximum values',
    wire: { ...base, state: 3, flags: 'FC', detectMult: 255, myDisc: 0xffffffff, yourDisc: 0xffffffff, desiredMinTxUs: 0xffffffff, requiredMinRxUs: 10_000, requiredMinEchoRxUs: 50_000 },
    packet: {
      ...model,
      state: BfdState.Up,
      final: true,
      controlPlaneIndependent: true,
      detectMult: 255,
      myDiscriminator: 0xffffffff,
      yourDiscriminator: 0xffffffff,
      desiredMinTxUs: 0xffffffff,
      requiredMinRxUs: 10_000,
      requiredMinEchoRxUs: 50_000,
    },
    hex: '20 d8 ff 18 ffffffff ffffffff ffffffff 00002710 0000c350',
  },
  {
    name: 'AdminDown with diag 7, your discriminator 0',
    wire: { ...base, state: 0, diag: 7 },
    packet: { ...model, state: BfdState.AdminDown, diag: Diag.AdministrativelyDown },
    hex: '27 00 03 18 00000001 00000000 000f4240 000493e0 00000000',
  },
  {
    name: 'Down with diag 1 and the D bit, detect mult 1',
    wire: { ...base, diag: 1, flags: 'D', detectMult: 1, yourDisc: 5 },
    packet: { ...model, diag: Diag.ControlDetectionTimeExpired, demand: true, detectMult: 1, yourDiscriminator: 5 },
    hex: '21 42 01 18 00000001 00000005 000f4240 000493e0 00000000',
  },
  {
    name: 'reserved diagnostic 31 is carried',
    wire: { ...base, diag: 31 },
    packet: { ...model, diag: 31 },
    hex: '3f 40 03 18 00000001 00000000 000f4240 000493e0 00000000',
  },
];

t.test('byte vectors', async (t) => {
  for (const v of vectors) {
    t.test(v.name, async (t) => {
      const b = control(v.wire);
      const wire = b.build();
      const extra = { annotated: b.annotate() };
      t.equal(wire.toString('hex'), v.hex.replace(/\s+/g, ''), 'builder matches the hand-written hex', extra);
      t.same(decode(wire), { ok: true, packet: v.packet }, 'decode', extra);
      t.equal(encode(v.packet).toString('hex'), wire.toString('hex'), 'encode', extra);
      t.same(decode(encode(v.packet)), { ok: true, packet: v.packet }, 'round trip');
      const big = Buffer.concat([Buffer.from('abc'), wire, Buffer.from('xy')]);
      t.same(decode(big.subarray(3, 3 + wire.length)), { ok: true, packet: v.packet }, 'decode at an offset inside a larger buffer');
      t.same(decode(Buffer.concat([wire, Buffer.alloc(8)])), { ok: true, packet: v.packet }, 'payload padding beyond Length is ignored');
    });
  }
});

const negatives: { name: string; payload: Buffer; code: DiscardCode; match?: RegExp }[] = [
  { name: 'empty', payload: Buffer.alloc(0), code: DiscardCode.Truncated },
  { name: '3 octets', payload: Buffer.from('204003', 'hex'), code: DiscardCode.Truncated },
  { name: 'version 0', payload: control({ ...base, version: 0 }).build(), code: DiscardCode.BadVersion, match: /version 0/ },
  { name: 'version 2', payload: control({ ...base, version: 2 }).build(), code: DiscardCode.BadVersion },
  { name: 'version 7', payload: control({ ...base, version: 7 }).build(), code: DiscardCode.BadVersion },
  { name: 'length 23', payload: control({ ...base, length: 23 }).build(), code: DiscardCode.LengthTooSmall, match: /length 23/ },
  { name: 'length 0', payload: control({ ...base, length: 0 }).build(), code: DiscardCode.LengthTooSmall },
  {
    name: 'A bit with no auth section (length 24)',
    payload: control({ ...base, flags: 'A' }).build(),
    code: DiscardCode.LengthTooSmall,
    match: /no room for an authentication section/,
  },
  { name: 'A bit, length 25', payload: Buffer.concat([control({ ...base, flags: 'A', length: 25 }).build(), Buffer.alloc(1)]), code: DiscardCode.LengthTooSmall },
  { name: 'truncated: length 24, payload 23', payload: control(base).build().subarray(0, 23), code: DiscardCode.LengthExceedsPayload, match: /length 24 exceeds the 23-octet payload/ },
  { name: 'length 40 on a 24-octet payload', payload: control({ ...base, length: 40 }).build(), code: DiscardCode.LengthExceedsPayload },
  {
    name: 'A bit, auth len 1',
    payload: control({ ...base, flags: 'A', auth: authSection(1, bytes(), 1) }).build(),
    code: DiscardCode.AuthSectionMalformed,
  },
  {
    name: 'A bit, auth len beyond Length',
    payload: control({ ...base, flags: 'A', auth: authSection(1, bytes().hex('01 6161', 'key id, password'), 12) }).build(),
    code: DiscardCode.AuthSectionMalformed,
  },
  {
    name: 'A bit, simple password section',
    payload: control({ ...base, flags: 'A', auth: authSection(1, bytes().u8(1, 'key id').hex('73656372657421', 'password "secret!"')) }).build(),
    code: DiscardCode.AuthNotConfigured,
    match: /authentication type 1 \(simple password\) received but no authentication is configured/,
  },
  {
    name: 'A bit, keyed SHA1 section',
    payload: control({ ...base, flags: 'A', auth: authSection(4, bytes().u8(1, 'key id').u8(0, 'reserved').u32(7, 'sequence').hex('00'.repeat(20), 'digest')) }).build(),
    code: DiscardCode.AuthNotConfigured,
    match: /keyed SHA1/,
  },
  { name: 'detect mult 0', payload: control({ ...base, detectMult: 0 }).build(), code: DiscardCode.ZeroDetectMult },
  { name: 'multipoint bit', payload: control({ ...base, flags: 'M' }).build(), code: DiscardCode.MultipointSet },
  { name: 'my discriminator 0', payload: control({ ...base, myDisc: 0 }).build(), code: DiscardCode.ZeroMyDiscriminator },
  { name: 'your discriminator 0 in Init', payload: control({ ...base, state: 2 }).build(), code: DiscardCode.ZeroYourDiscriminator, match: /state Init/ },
  { name: 'your discriminator 0 in Up', payload: control({ ...base, state: 3 }).build(), code: DiscardCode.ZeroYourDiscriminator, match: /state Up/ },
];

t.test('negative table: each discard has its code', async (t) => {
  for (const n of negatives) {
    const r = decode(n.payload);
    t.equal(r.ok, false, `${n.name}: discarded`);
    if (r.ok) continue;
    t.equal(r.code, n.code, `${n.name}: code`);
    if (n.match) t.match(r.message, n.match, `${n.name}: message`);
  }
});

t.test('checks run in RFC 5880 §6.8.6 order', async (t) => {
  const worst = control({ ...base, version: 3, length: 5, detectMult: 0, flags: 'AM', myDisc: 0 }).build();
  t.match(decode(worst), { ok: false, code: DiscardCode.BadVersion }, 'version first');
  t.match(decode(control({ ...base, detectMult: 0, flags: 'M', myDisc: 0 }).build()), { ok: false, code: DiscardCode.ZeroDetectMult });
  t.match(decode(control({ ...base, flags: 'M', myDisc: 0 }).build()), { ok: false, code: DiscardCode.MultipointSet });
  const authZeroDisc = control({ ...base, flags: 'A', myDisc: 0, auth: authSection(1, bytes().hex('0161', 'key, pw')) }).build();
  t.match(decode(authZeroDisc), { ok: false, code: DiscardCode.ZeroMyDiscriminator }, 'the A bit is checked after the discriminators');
});

t.test('your discriminator 0 is fine in Down and AdminDown', async (t) => {
  t.equal(decode(control({ ...base, state: 1 }).build()).ok, true);
  t.equal(decode(control({ ...base, state: 0 }).build()).ok, true);
});

t.test('encode rejects out-of-range fields and P with F', async (t) => {
  t.throws(() => encode({ ...model, diag: 32 }), { code: ErrorCode.BfdEncode, message: /diag 32/ });
  t.throws(() => encode({ ...model, detectMult: 256 }), { code: ErrorCode.BfdEncode });
  t.throws(() => encode({ ...model, myDiscriminator: -1 }), { code: ErrorCode.BfdEncode });
  t.throws(() => encode({ ...model, desiredMinTxUs: 2 ** 32 }), { code: ErrorCode.BfdEncode });
  t.throws(() => encode({ ...model, requiredMinRxUs: 1.5 }), { code: ErrorCode.BfdEncode });
  t.throws(() => encode({ ...model, poll: true, final: true }), { code: ErrorCode.BfdEncode, message: /Poll and Final/ });
});

t.test('diagnostic text', async (t) => {
  t.equal(describeDiag(Diag.ControlDetectionTimeExpired), 'control detection time expired');
  t.equal(describeDiag(Diag.NeighborSignaledSessionDown), 'neighbor signaled session down');
  t.equal(describeDiag(20), 'reserved diagnostic 20');
});

const u32 = fc.nat({ max: 0xffffffff });
const validPacket: fc.Arbitrary<ControlPacket> = fc
  .record({
    diag: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom(BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up),
    pf: fc.constantFrom('', 'P', 'F'),
    controlPlaneIndependent: fc.boolean(),
    demand: fc.boolean(),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscriminator: u32,
    desiredMinTxUs: u32,
    requiredMinRxUs: u32,
    requiredMinEchoRxUs: u32,
  })
  .map(({ pf, ...r }) => ({
    ...r,
    poll: pf === 'P',
    final: pf === 'F',
    multipoint: false,
    // Init and Up need a nonzero Your Discriminator to be accepted.
    yourDiscriminator: r.state >= BfdState.Init && r.yourDiscriminator === 0 ? 1 : r.yourDiscriminator,
  }));
const codes = new Set<string>(Object.values(DiscardCode));

t.test('property: decode(encode(x)) deep-equals x', async (t) => {
  fc.assert(
    fc.property(validPacket, (p) => {
      const r = decode(encode(p));
      return r.ok && isDeepStrictEqual(r.packet, p);
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 packets round-tripped');
});

t.test('property: decode returns a packet or a typed discard, never throws', async (t) => {
  const isTyped = (buf: Uint8Array): boolean => {
    const r = decode(buf);
    return r.ok ? typeof r.packet.myDiscriminator === 'number' : codes.has(r.code) && r.message.length > 0;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), isTyped), { numRuns: 5000 });
  // Mutations of valid packets reach the later checks that random bytes rarely get past.
  const mutated = fc.tuple(validPacket, fc.nat({ max: 23 }), fc.nat({ max: 255 }), fc.nat({ max: 8 })).map(([p, at, value, extra]) => {
    const wire = Buffer.concat([encode(p), Buffer.alloc(extra, 0x11)]);
    wire[at] = value;
    return new Uint8Array(wire);
  });
  fc.assert(fc.property(mutated, isTyped), { numRuns: 5000 });
  t.pass('10000 payloads decoded without a throw');
});
