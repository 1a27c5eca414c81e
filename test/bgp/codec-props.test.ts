import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { decode, encode, Framer } from '../../src/bgp/codec';
import type { Capability, CodecContext, Message, PathAttributes, UpdateMessage } from '../../src/bgp/codec';
import { BgpError } from '../../src/bgp/errors';

const u32 = fc.nat({ max: 0xffffffff });
const ipv4 = u32.map((n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
/** A unicast-looking IPv4 next hop (1.0.0.0 .. 223.255.255.255), never one the decoder rejects. */
const nextHop4 = fc.integer({ min: 0x01000000, max: 0xdfffffff }).map((n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => (ipaddr.fromByteArray(Array.from(b)) as ipaddr.IPv6).toRFC5952String());

function masked(bytesIn: number[], len: number): number[] {
  return bytesIn.map((b, i) => {
    const bits = Math.min(8, Math.max(0, len - 8 * i));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}
const prefix4 = fc
  .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
  .map(([b, len]) => `${masked(Array.from(b), len).join('.')}/${len}`);
const prefix6 = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
  .map(([b, len]) => `${(ipaddr.fromByteArray(masked(Array.from(b), len)) as ipaddr.IPv6).toRFC5952String()}/${len}`);

const asn = (ctx: CodecContext): fc.Arbitrary<number> => (ctx.fourOctetAs ? u32 : fc.nat({ max: 0xffff }));
const asPath = (ctx: CodecContext): fc.Arbitrary<PathAttributes['asPath']> =>
  fc.array(fc.record({ type: fc.integer({ min: 1, max: 4 }), asns: fc.array(asn(ctx), { minLength: 1, maxLength: 6 }) }), { maxLength: 3 });

const knownTypes = new Set([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 32]);
const unknownAttr = fc.record({
  flags: fc.constantFrom(0x80, 0xc0, 0xe0, 0xa0),
  typeCode: fc.integer({ min: 9, max: 255 }).filter((x) => !knownTypes.has(x)),
  value: fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
});

const mpReach = fc.oneof(
  fc.record({ afi: fc.constant(1), safi: fc.constant(1), nextHops: fc.tuple(nextHop4).map((x) => [...x]), nlri: fc.array(prefix4, { maxLength: 8 }) }),
  fc.record({
    afi: fc.constant(2),
    safi: fc.constant(1),
    nextHops: fc.oneof(fc.tuple(ipv6).map((x) => [...x]), fc.tuple(ipv6, ipv6).map((x) => [...x])),
    nlri: fc.array(prefix6, { maxLength: 8 }),
  }),
);
const mpUnreach = fc.oneof(
  fc.record({ afi: fc.constant(1), safi: fc.constant(1), withdrawn: fc.array(prefix4, { maxLength: 8 }) }),
  fc.record({ afi: fc.constant(2), safi: fc.constant(1), withdrawn: fc.array(prefix6, { maxLength: 8 }) }),
);

function attributes(ctx: CodecContext): fc.Arbitrary<PathAttributes> {
  return fc.record(
    {
      origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
      asPath: asPath(ctx),
      nextHop: nextHop4,
      med: u32,
      localPref: u32,
      atomicAggregate: fc.constant(true as const),
      aggregator: fc.record({ asn: asn(ctx), address: ipv4 }),
      communities: fc.array(u32, { minLength: 1, maxLength: 8 }),
      largeCommunities: fc.array(fc.record({ globalAdmin: u32, localData1: u32, localData2: u32 }), { minLength: 1, maxLength: 4 }),
      mpReach,
      mpUnreach,
      unknown: fc.uniqueArray(unknownAttr, { selector: (a) => a.typeCode, minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
}

/** UPDATEs the decoder accepts cleanly: reachable routes always carry the well-known attributes. */
function update(ctx: CodecContext): fc.Arbitrary<UpdateMessage> {
  return fc
    .record({ withdrawn: fc.array(prefix4, { maxLength: 8 }), attributes: attributes(ctx), nlri: fc.array(prefix4, { maxLength: 8 }) })
    .map(({ withdrawn, attributes: a, nlri }) => {
      const reach = nlri.length > 0 || (a.mpReach?.nlri.length ?? 0) > 0;
      if (reach) {
        a.origin ??= 0;
        a.asPath ??= [];
        if (nlri.length > 0) a.nextHop ??= '10.77.0.11';
      }
      return { type: 2 as const, withdrawn, attributes: a, nlri };
    });
}

const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }) }),
  fc.constant({ kind: 'routeRefresh' as const }),
  fc.record({ kind: fc.constant('fourOctetAs' as const), asn: u32 }),
  fc.record({
    kind: fc.constant('gracefulRestart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTimeSec: fc.nat({ max: 4095 }),
    families: fc.array(fc.record({ afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }), forwardingPreserved: fc.boolean() }), { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('unknown' as const),
    code: fc.integer({ min: 0, max: 255 }).filter((c) => ![1, 2, 5, 64, 65].includes(c)),
    value: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
  }),
);

function message(ctx: CodecContext): fc.Arbitrary<Message> {
  return fc.oneof(
    fc.record({
      type: fc.constant(1 as const),
      version: fc.nat({ max: 255 }),
      myAs: fc.nat({ max: 0xffff }),
      holdTimeSec: fc.nat({ max: 0xffff }),
      bgpIdentifier: ipv4,
      capabilities: fc.array(capability, { maxLength: 8 }),
    }),
    update(ctx),
    fc.record({ type: fc.constant(3 as const), code: fc.nat({ max: 255 }), subcode: fc.nat({ max: 255 }), data: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) }),
    fc.constant({ type: 4 as const }),
    fc.record({ type: fc.constant(5 as const), afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }), subtype: fc.nat({ max: 255 }) }),
  );
}

/** fast-check builds null-prototype records; copy into plain objects so strict deep equality applies. */
function plain<T>(x: T): T {
  if (Buffer.isBuffer(x) || x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) return x.map(plain) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) out[k] = plain(v);
  return out as T;
}

const withCtx = fc.boolean().chain((four) => {
  const ctx = { fourOctetAs: four };
  return fc.tuple(fc.constant(ctx), message(ctx).map(plain));
});

t.test('decode(encode(x)) deep-equals x', async (t) => {
  fc.assert(
    fc.property(withCtx, ([ctx, msg]) => {
      const back = decode(encode(msg, ctx), ctx);
      return isDeepStrictEqual(back, msg);
    }),
    { numRuns: 400 },
  );
  t.pass('held for 400 runs');
});

/** Returns normally or throws BgpError; anything else fails the property. */
function decodesOrBgpError(buf: Buffer, ctx: CodecContext): void {
  try {
    decode(buf, ctx);
  } catch (err) {
    if (!(err instanceof BgpError)) throw new Error(`decode threw a non-BgpError: ${String(err)}`);
  }
}

t.test('decode of random bytes returns a message or throws BgpError', async (t) => {
  const headerAndBody = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 200 })).map(([type, body]) => {
    const b = Buffer.alloc(19 + body.length, 0xff);
    b.writeUInt16BE(19 + body.length, 16);
    b[18] = type;
    Buffer.from(body).copy(b, 19);
    return b;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)), headerAndBody), fc.boolean(), (buf, four) => {
      decodesOrBgpError(buf, { fourOctetAs: four });
    }),
    { numRuns: 2000 },
  );
  t.pass('held for 2000 runs');
});

t.test('decode of mutated valid messages returns a message or throws BgpError', async (t) => {
  const mutated = withCtx.chain(([ctx, msg]) => {
    const wire = encode(msg, ctx);
    return fc
      .tuple(fc.array(fc.tuple(fc.nat({ max: wire.length - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat({ max: 8 }))
      .map(([edits, cut]) => {
        const b = Buffer.from(wire.subarray(0, Math.max(19, wire.length - cut)));
        for (const [at, v] of edits) if (at >= 19 && at < b.length) b[at] = v;
        b.writeUInt16BE(b.length, 16);
        return [ctx, b] as const;
      });
  });
  fc.assert(
    fc.property(mutated, ([ctx, buf]) => {
      decodesOrBgpError(buf, ctx);
    }),
    { numRuns: 2000 },
  );
  t.pass('held for 2000 runs');
});

t.test('framer reassembles any chunking', async (t) => {
  const stream = fc.tuple(fc.array(withCtx.map(([ctx, m]) => encode(m, ctx)), { minLength: 1, maxLength: 6 }), fc.array(fc.nat({ max: 5000 }), { maxLength: 12 }));
  fc.assert(
    fc.property(stream, ([msgs, cuts]) => {
      const all = Buffer.concat(msgs);
      const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
      const f = new Framer();
      const out: Buffer[] = [];
      let prev = 0;
      for (const p of [...points, all.length]) {
        out.push(...f.push(all.subarray(prev, p)));
        prev = p;
      }
      return isDeepStrictEqual(
        out.map((b) => b.toString('hex')),
        msgs.map((b) => b.toString('hex')),
      );
    }),
    { numRuns: 200 },
  );
  t.pass('held for 200 runs');
});
