import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, type ArpFrame, type Frame, type NdpFrame } from '../../src/arp/frame';
import { BadFrameReason, isBadFrame } from '../../src/arp/ethernet';
import { ErrorCode } from '../../src/util/errors';
import * as v from '../fixtures/arp/vectors';
import { parseIpBytes } from '../../src/arp/addr';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const BCAST = 'ff:ff:ff:ff:ff:ff';

interface Vector {
  name: string;
  bytes: Buffer;
  frame: Frame;
}

const vectors: Vector[] = [
  {
    name: 'ARP request (arping)',
    bytes: v.arpRequest,
    frame: {
      kind: 'arp',
      eth: { dst: BCAST, src: MAC_A, etherType: 0x0806 },
      arp: { op: 1, senderMac: MAC_A, senderIp: '10.77.9.1', targetMac: BCAST, targetIp: '10.77.9.2' },
    },
  },
  {
    name: 'ARP reply (kernel)',
    bytes: v.arpReply,
    frame: {
      kind: 'arp',
      eth: { dst: MAC_A, src: MAC_B, etherType: 0x0806 },
      arp: { op: 2, senderMac: MAC_B, senderIp: '10.77.9.2', targetMac: MAC_A, targetIp: '10.77.9.1' },
    },
  },
  {
    name: 'gratuitous ARP, request form',
    bytes: v.garpRequest,
    frame: {
      kind: 'arp',
      eth: { dst: BCAST, src: MAC_A, etherType: 0x0806 },
      arp: { op: 1, senderMac: MAC_A, senderIp: '10.77.9.100', targetMac: BCAST, targetIp: '10.77.9.100' },
    },
  },
  {
    name: 'gratuitous ARP, reply form',
    bytes: v.garpReply,
    frame: {
      kind: 'arp',
      eth: { dst: BCAST, src: MAC_A, etherType: 0x0806 },
      arp: { op: 2, senderMac: MAC_A, senderIp: '10.77.9.100', targetMac: MAC_A, targetIp: '10.77.9.100' },
    },
  },
  {
    name: 'NS to the solicited-node group with SLLA',
    bytes: v.nsMulticast,
    frame: {
      kind: 'ndp',
      eth: { dst: '33:33:ff:00:00:02', src: MAC_A, etherType: 0x86dd },
      ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 255, src: 'fd00:77:9::1', dst: 'ff02::1:ff00:2' },
      ndp: { type: 'ns', target: 'fd00:77:9::2', sourceLinkLayerAddress: MAC_A },
    },
  },
  {
    name: 'solicited NA with TLLA',
    bytes: v.naSolicited,
    frame: {
      kind: 'ndp',
      eth: { dst: MAC_A, src: MAC_B, etherType: 0x86dd },
      ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 255, src: 'fd00:77:9::2', dst: 'fd00:77:9::1' },
      ndp: { type: 'na', router: false, solicited: true, override: true, target: 'fd00:77:9::2', targetLinkLayerAddress: MAC_B },
    },
  },
  {
    name: 'unsolicited NA to all-nodes',
    bytes: v.naUnsolicited,
    frame: {
      kind: 'ndp',
      eth: { dst: '33:33:00:00:00:01', src: MAC_A, etherType: 0x86dd },
      ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 255, src: 'fd00:77:9::5', dst: 'ff02::1' },
      ndp: { type: 'na', router: false, solicited: false, override: true, target: 'fd00:77:9::5', targetLinkLayerAddress: MAC_A },
    },
  },
];

t.test('kernel-captured vectors: decode, encode, round trip, padding', async (t) => {
  for (const vec of vectors) {
    t.test(vec.name, async (t) => {
      t.same(decodeFrame(vec.bytes), vec.frame, 'decode');
      const encoded = encodeFrame(vec.frame as ArpFrame | NdpFrame);
      if (vec.frame.kind === 'arp') {
        t.equal(encoded.length, 60, 'ARP padded to the Ethernet minimum');
        t.same(encoded.subarray(0, 42), vec.bytes, 'encode: data bytes');
        t.ok(encoded.subarray(42).every((b) => b === 0), 'encode: zero padding');
      } else {
        t.same(encoded, vec.bytes, 'encode');
      }
      t.same(decodeFrame(encoded), vec.frame, 'round trip');
      t.same(decodeFrame(Buffer.concat([vec.bytes, Buffer.alloc(18, 0xee)])), vec.frame, 'trailing bytes ignored');
    });
  }
});

t.test('DAD probe: from ::, no SLLA, nonce option skipped', async (t) => {
  t.same(decodeFrame(v.nsDad), {
    kind: 'ndp',
    eth: { dst: '33:33:ff:00:00:05', src: MAC_A, etherType: 0x86dd },
    ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 255, src: '::', dst: 'ff02::1:ff00:5' },
    ndp: { type: 'ns', target: 'fd00:77:9::5' },
  });
});

t.test('valid frames that are not ARP or ND decode as other', async (t) => {
  t.same(decodeFrame(v.routerSolicitation), { kind: 'other', eth: { dst: '33:33:00:00:00:02', src: MAC_B, etherType: 0x86dd } });
  t.equal(decodeFrame(v.echoRequest).kind, 'other');
  const ipv4 = Buffer.concat([v.arpRequest.subarray(0, 12), Buffer.from([0x08, 0x00]), Buffer.alloc(46)]);
  t.equal(decodeFrame(ipv4).kind, 'other');
  const udp6 = Buffer.from(v.nsMulticast);
  udp6[20] = 17; // next header UDP
  t.equal(decodeFrame(udp6).kind, 'other');
});

function mutate(buf: Buffer, edits: Array<[number, number]>): Buffer {
  const out = Buffer.from(buf);
  for (const [off, val] of edits) out[off] = val;
  return out;
}

// Offsets: Ethernet 0..13; ARP from 14; IPv6 header from 14 (payload length at 18, src at 22);
// ICMPv6 from 54 (code 55, checksum 56, target 62, options 78).
const negatives: Array<{ name: string; bytes: Buffer; reason: BadFrameReason }> = [
  { name: 'empty', bytes: Buffer.alloc(0), reason: BadFrameReason.Truncated },
  { name: '13 bytes', bytes: v.arpRequest.subarray(0, 13), reason: BadFrameReason.Truncated },
  { name: 'ARP cut at 41', bytes: v.arpRequest.subarray(0, 41), reason: BadFrameReason.Truncated },
  { name: 'ARP header only', bytes: v.arpRequest.subarray(0, 14), reason: BadFrameReason.Truncated },
  { name: 'ARP htype 6 (IEEE 802)', bytes: mutate(v.arpRequest, [[15, 6]]), reason: BadFrameReason.BadHardwareType },
  { name: 'ARP ptype 0x86dd', bytes: mutate(v.arpRequest, [[16, 0x86], [17, 0xdd]]), reason: BadFrameReason.BadProtocolType },
  { name: 'ARP hlen 8', bytes: mutate(v.arpRequest, [[18, 8]]), reason: BadFrameReason.BadAddressLength },
  { name: 'ARP plen 16', bytes: mutate(v.arpRequest, [[19, 16]]), reason: BadFrameReason.BadAddressLength },
  { name: 'ARP op 3 (RARP)', bytes: mutate(v.arpRequest, [[21, 3]]), reason: BadFrameReason.BadArpOp },
  { name: 'ARP op 0', bytes: mutate(v.arpRequest, [[21, 0]]), reason: BadFrameReason.BadArpOp },
  { name: 'IPv6 cut at 53', bytes: v.nsMulticast.subarray(0, 53), reason: BadFrameReason.Truncated },
  { name: 'IPv4 header in an IPv6 frame', bytes: mutate(v.nsMulticast, [[14, 0x45]]), reason: BadFrameReason.BadIpVersion },
  { name: 'payload length beyond the frame', bytes: mutate(v.nsMulticast, [[19, 0x28]]), reason: BadFrameReason.BadPayloadLength },
  { name: 'NS cut to 80 bytes', bytes: v.nsMulticast.subarray(0, 80), reason: BadFrameReason.BadPayloadLength },
  { name: 'ICMPv6 payload of 3 bytes', bytes: mutate(v.nsMulticast.subarray(0, 57), [[19, 3]]), reason: BadFrameReason.Truncated },
  { name: 'NS payload of 20 bytes', bytes: mutate(v.nsMulticast, [[19, 20]]), reason: BadFrameReason.Truncated },
  { name: 'NS checksum off by one', bytes: mutate(v.nsMulticast, [[57, 0x8f]]), reason: BadFrameReason.BadChecksum },
  { name: 'NA target altered', bytes: mutate(v.naSolicited, [[77, 3]]), reason: BadFrameReason.BadChecksum },
  { name: 'NS source altered', bytes: mutate(v.nsMulticast, [[37, 9]]), reason: BadFrameReason.BadChecksum },
];

/** Recompute the ICMPv6 checksum of a frame after a mutation, so the mutation under test is what fails. */
function fixChecksum(frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  out.writeUInt16BE(0, 56);
  const len = out.readUInt16BE(18);
  const words: number[] = [];
  const pseudo = Buffer.concat([out.subarray(22, 54), Buffer.from([0, 0, len >> 8, len & 0xff, 0, 0, 0, 58]), out.subarray(54, 54 + len)]);
  const padded = pseudo.length % 2 ? Buffer.concat([pseudo, Buffer.alloc(1)]) : pseudo;
  for (let i = 0; i < padded.length; i += 2) words.push(padded.readUInt16BE(i));
  let sum = words.reduce((a, b) => a + b, 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  out.writeUInt16BE(0xffff - sum, 56);
  return out;
}

negatives.push(
  { name: 'NS code 1', bytes: fixChecksum(mutate(v.nsMulticast, [[55, 1]])), reason: BadFrameReason.BadIcmpCode },
  { name: 'NS option length 0', bytes: fixChecksum(mutate(v.nsMulticast, [[79, 0]])), reason: BadFrameReason.BadOptionLength },
  { name: 'NS option length 2 (beyond the payload)', bytes: fixChecksum(mutate(v.nsMulticast, [[79, 2]])), reason: BadFrameReason.BadOptionLength },
  {
    name: 'NS with a lone trailing option byte',
    bytes: fixChecksum(mutate(Buffer.concat([v.nsMulticast, Buffer.from([1])]), [[19, 33]])),
    reason: BadFrameReason.BadOptionLength,
  },
  {
    name: 'SLLA option of 16 bytes (not Ethernet)',
    bytes: fixChecksum(mutate(Buffer.concat([v.nsMulticast, Buffer.alloc(8)]), [[19, 40], [79, 2]])),
    reason: BadFrameReason.BadOptionLength,
  },
);

t.test('negative table: each malformed frame throws BadFrame with its reason', async (t) => {
  t.ok(fixChecksum(v.nsMulticast).equals(v.nsMulticast), 'the test checksum helper agrees with the kernel');
  for (const n of negatives) {
    t.throws(() => decodeFrame(n.bytes), { code: ErrorCode.BadFrame, details: { reason: n.reason } }, n.name);
  }
});

t.test('every truncation of every vector is BadFrame, never another error', async (t) => {
  let checked = 0;
  for (const vec of [...vectors.map((x) => x.bytes), v.nsDad]) {
    for (let len = 0; len < vec.length; len++) {
      try {
        decodeFrame(vec.subarray(0, len));
      } catch (err) {
        if (!isBadFrame(err)) t.fail(`length ${len}: ${String(err)}`);
      }
      checked++;
    }
  }
  t.ok(checked > 400, `checked ${checked} truncations`);
});

t.test('property: decode of garbage returns a frame or throws BadFrame', async () => {
  const decodeOrBadFrame = (bytes: Uint8Array): boolean => {
    try {
      decodeFrame(bytes);
      return true;
    } catch (err) {
      return isBadFrame(err);
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), decodeOrBadFrame), { numRuns: 3000 });
  // Garbage that gets past the EtherType dispatch: random bodies behind ARP and IPv6/ICMPv6 headers.
  const seeds = [v.arpRequest, v.nsMulticast, v.naSolicited, v.nsDad];
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.nat({ max: 100 }),
      (seed, edits, cut) => decodeOrBadFrame(mutate(seed, edits.map(([o, b]) => [o % seed.length, b])).subarray(0, cut)),
    ),
    { numRuns: 5000 },
  );
});

/** fc.record without null prototypes, so results deep-equal what the decoder builds. */
function rec<T>(m: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(m, { noNullPrototype: true });
}

const macArb = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
const ipv4Arb = fc.ipV4();
// Uncompressed text from random bytes, then canonicalised (RFC 5952 conformance is in addr.test.ts).
const ipv6Arb = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((b) => parseIpBytes([...Array(8).keys()].map((i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':')).text);

t.test('property: decode(encode(x)) deep-equals x', async () => {
  const arpArb: fc.Arbitrary<ArpFrame> = rec({
    kind: fc.constant('arp' as const),
    eth: rec({ dst: macArb, src: macArb, etherType: fc.constant(0x0806) }),
    arp: rec({ op: fc.constantFrom(1 as const, 2 as const), senderMac: macArb, senderIp: ipv4Arb, targetMac: macArb, targetIp: ipv4Arb }),
  });
  fc.assert(fc.property(arpArb, (f) => isDeepStrictEqual(decodeFrame(encodeFrame(f)), f)), { numRuns: 1000 });
  const ns = fc.record(
    { type: fc.constant('ns' as const), target: ipv6Arb, sourceLinkLayerAddress: macArb },
    { requiredKeys: ['type', 'target'], noNullPrototype: true },
  );
  const na = fc.record(
    {
      type: fc.constant('na' as const),
      router: fc.boolean(),
      solicited: fc.boolean(),
      override: fc.boolean(),
      target: ipv6Arb,
      targetLinkLayerAddress: macArb,
    },
    { requiredKeys: ['type', 'router', 'solicited', 'override', 'target'], noNullPrototype: true },
  );
  const ndpArb: fc.Arbitrary<NdpFrame> = rec({
    kind: fc.constant('ndp' as const),
    eth: rec({ dst: macArb, src: macArb, etherType: fc.constant(0x86dd) }),
    ip6: rec({
      trafficClass: fc.integer({ min: 0, max: 255 }),
      flowLabel: fc.integer({ min: 0, max: 0xfffff }),
      hopLimit: fc.integer({ min: 0, max: 255 }),
      src: ipv6Arb,
      dst: ipv6Arb,
    }),
    ndp: fc.oneof(ns, na),
  });
  fc.assert(
    fc.property(ndpArb, (f) => isDeepStrictEqual(decodeFrame(encodeFrame(f)), f)),
    { numRuns: 1000 },
  );
});
