/**
 * Oversized inputs complete and stay bounded in memory (docs/architecture.md §6.2). Each case
 * builds the largest or densest input the format allows, runs it through the real entry point, and
 * asserts completion and heap growth under a generous limit (measured after a full GC, see
 * heap.ts). No wall-time assertions: the figures are printed as comments for docs/fuzzing.md.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { decode, encode, Framer, type UpdateMessage } from '../../src/bgp/codec';
import { decodeFrame, encodeFrame, type Frame } from '../../src/arp/frame';
import { isBadFrame } from '../../src/arp/ethernet';
import { respond, type Announcement, type ResponderContext } from '../../src/arp/responder';
import { runValidate } from '../../src/cli/validate';
import { parseConfig } from '../../src/config/parse';
import { attribute, bytes, message, updateBody, type Bytes } from '../fixtures/bgp/builder';
import { arpRequest, garpReply, naUnsolicited, nsMulticast, routerSolicitation } from '../fixtures/arp/vectors';
import { icmp6Checksum } from '../fixtures/fuzz/arp-gen';
import { heapAfterGc, mb, measure } from '../fixtures/fuzz/heap';

const MB = 1e6;
const ctx2 = { fourOctetAs: false };
const ctx4 = { fourOctetAs: true };
const origin = attribute(0x40, 1, bytes().u8(0, 'IGP'), 'ORIGIN');
const asPath = attribute(0x40, 2, bytes().u8(2, 'AS_SEQUENCE').u8(1, 'count').u16(64500, 'AS 64500'), 'AS_PATH');
const nextHop = attribute(0x40, 3, bytes().ip('10.77.0.11', 'next hop'), 'NEXT_HOP');
const KNOWN = new Set([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 32]);

/** Pad an UPDATE to exactly 4,096 octets by filling its attribute list with `fill(i)` until full. */
function fullUpdate(head: Bytes, fill: (i: number, room: number) => Bytes | undefined, nlri: Bytes = bytes()): Buffer {
  const attrs = bytes().append(head);
  const room = () => 4096 - 19 - 4 - attrs.length - nlri.length;
  for (let i = 0; ; i++) {
    const a = fill(i, room());
    if (a === undefined || a.length > room()) break;
    attrs.append(a);
  }
  return message(2, updateBody(bytes(), attrs, nlri), 'UPDATE').build();
}

t.test('BGP: a 4,096-octet UPDATE packed with ~1,350 empty unknown optional transitive attributes', async (t) => {
  const unknownTypes = Array.from({ length: 256 }, (_, i) => i).filter((x) => x >= 9 && !KNOWN.has(x));
  const wire = fullUpdate(bytes().append(origin).append(asPath).append(nextHop), (i) => attribute(0xc0, unknownTypes[i % unknownTypes.length]!, bytes(), 'unknown'), bytes().prefix('10.77.0.100/32'));
  t.equal(wire.length, 4096);
  const m = measure(() => decode(wire, ctx2) as UpdateMessage);
  const msg = m.result;
  t.equal(msg.attributes.unknown?.length, unknownTypes.length, 'each unknown type kept once');
  // RFC 7606 §3.g: every repeat is discarded and recorded.
  t.ok((msg.attrErrors?.length ?? 0) > 1000, `${msg.attrErrors?.length} repeats discarded`);
  t.ok(msg.attrErrors?.every((e) => e.action === 'attribute-discard'));
  t.ok(m.retained < 32 * MB, `decoded message retains ${mb(m.retained)}`);
});

t.test('BGP: a 4,096-octet UPDATE packed with repeats of one known attribute (MED)', async (t) => {
  const med = attribute(0x80, 4, bytes().u32(7, 'MED'), 'MED');
  const wire = fullUpdate(bytes().append(origin).append(asPath).append(nextHop), () => med, bytes().prefix('10.77.0.100/32'));
  const m = measure(() => decode(wire, ctx2) as UpdateMessage);
  t.equal(m.result.attributes.med, 7);
  t.ok((m.result.attrErrors?.length ?? 0) > 500);
  t.ok(m.retained < 32 * MB, `retains ${mb(m.retained)}`);
});

t.test('BGP: 4,096-octet UPDATEs with thousands of NLRI (IPv4 body, withdrawn, IPv6 MP_REACH and MP_UNREACH)', async (t) => {
  // Short prefixes are 1-2 octets on the wire: /0../8 pack the most routes into one message.
  const v4 = (i: number): string => (i % 9 === 0 ? '0.0.0.0/0' : `${(i * 7) & 0xff}.0.0.0/8`.replace(/^(\d+)\.0\.0\.0\/8$/, (_, o: string) => `${Number(o) & 0x80 ? o : String(Number(o) | 0x80)}.0.0.0/8`));
  const nlri = bytes();
  let n = 0;
  while (4096 - 19 - 4 - origin.length - asPath.length - nextHop.length - nlri.length >= 2) nlri.prefix(v4(n++));
  const body = message(2, updateBody(bytes(), bytes().append(origin).append(asPath).append(nextHop), nlri), 'UPDATE').build();
  const withdrawn = bytes();
  let w = 0;
  while (4096 - 19 - 4 - withdrawn.length >= 2) withdrawn.prefix(v4(w++));
  const wd = message(2, updateBody(withdrawn, bytes(), bytes()), 'UPDATE').build();
  const mp6 = (type: 14 | 15): Buffer => {
    const v = type === 14 ? bytes().u16(2, 'AFI').u8(1, 'SAFI').u8(16, 'nh len').ip('fd00:77::11', 'nh').u8(0, 'reserved') : bytes().u16(2, 'AFI').u8(1, 'SAFI');
    const head = type === 14 ? bytes().append(origin).append(asPath) : bytes();
    let k = 0;
    while (4096 - 19 - 4 - head.length - 4 - v.length >= 2) v.prefix(k++ % 5 === 0 ? '::/0' : `${(0x2000 + (k % 0xdf) * 0x100).toString(16)}::/8`);
    return message(2, updateBody(bytes(), head.append(attribute(0x80, type, v, type === 14 ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI', true)), bytes()), 'UPDATE').build();
  };
  for (const [name, wire, count] of [
    ['IPv4 NLRI', body, (m: UpdateMessage) => m.nlri.length],
    ['withdrawn', wd, (m: UpdateMessage) => m.withdrawn.length],
    ['MP_REACH', mp6(14), (m: UpdateMessage) => m.attributes.mpReach?.nlri.length ?? 0],
    ['MP_UNREACH', mp6(15), (m: UpdateMessage) => m.attributes.mpUnreach?.withdrawn.length ?? 0],
  ] as const) {
    t.ok(wire.length > 4090 && wire.length <= 4096, `${name}: ${wire.length} octets`);
    // The AS_PATH above is 2-octet, so these run in a 2-octet session.
    const m = measure(() => decode(wire, ctx2) as UpdateMessage);
    t.ok(count(m.result) > 1900, `${name}: ${count(m.result)} prefixes decoded`);
    t.equal(m.result.attrErrors, undefined, `${name}: clean`);
    t.same(decode(encode(m.result, ctx2), ctx2), m.result, `${name}: re-encodes to the same routes`);
    t.ok(m.retained < 32 * MB, `${name}: retains ${mb(m.retained)}`);
  }
});

t.test('BGP: maximum-length AS_PATH (one attribute filling the message), 2- and 4-octet sessions', async (t) => {
  for (const [ctx, width] of [
    [ctx2, 2],
    [ctx4, 4],
  ] as const) {
    const value = bytes();
    let asns = 0;
    const room = 4096 - 19 - 4 - origin.length - nextHop.length - 4 - 5; // AS_PATH header (extended) and one /32
    while (room - value.length >= 2 + width) {
      const count = Math.min(255, Math.floor((room - value.length - 2) / width));
      value.u8(2, 'AS_SEQUENCE').u8(count, 'count');
      for (let i = 0; i < count; i++) {
        if (width === 4) value.u32(4200000000 + asns++, 'AS');
        else value.u16(1 + (asns++ % 65000), 'AS');
      }
    }
    const wire = message(2, updateBody(bytes(), bytes().append(origin).append(attribute(0x40, 2, value, 'AS_PATH', true)).append(nextHop), bytes().prefix('10.77.0.100/32')), 'UPDATE').build();
    const m = measure(() => decode(wire, ctx) as UpdateMessage);
    const got = m.result.attributes.asPath?.reduce((n, s) => n + s.asns.length, 0);
    t.equal(got, asns, `${width}-octet: ${asns} ASNs in ${m.result.attributes.asPath?.length} segments, ${wire.length} octets`);
    t.equal(m.result.attrErrors, undefined);
    t.same(encode(m.result, ctx), wire, 'encodes back to the same octets');
    t.ok(m.retained < 16 * MB, `retains ${mb(m.retained)}`);
  }
});

t.test('BGP: the Framer over 10,000 maximum-size messages in uneven chunks holds under one message', async (t) => {
  const unknownTypes = Array.from({ length: 200 }, (_, i) => i + 40);
  const wire = fullUpdate(bytes().append(origin).append(asPath).append(nextHop), (i) => attribute(0xc0, unknownTypes[i % 200]!, bytes().u8(i & 0xff, 'v'), 'unknown'));
  const stream = Buffer.concat(Array.from({ length: 100 }, () => wire));
  const f = new Framer();
  let messages = 0;
  let maxBuffered = 0;
  const m = measure((sample) => {
    for (let round = 0; round < 100; round++) {
      for (let at = 0, k = 0; at < stream.length; k++) {
        const size = [1, 19, 4095, 4096, 4097, 7919, 20000][k % 7]!;
        for (const out of f.push(stream.subarray(at, at + size))) {
          messages++;
          if (out.length !== wire.length) throw new Error(`cut ${out.length} octets`);
        }
        maxBuffered = Math.max(maxBuffered, f.buffered);
        at += size;
      }
      sample();
    }
    return messages;
  });
  t.equal(m.result, 10_000);
  t.ok(maxBuffered < 4096, `at most ${maxBuffered} octets buffered`);
  t.ok(m.peak < 64 * MB, `peak heap growth ${mb(m.peak)}`);
  t.ok(m.retained < 8 * MB, `retained ${mb(m.retained)}`);
});

const pool = (name: string, addresses: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace: 'metallb-system' },
  spec: { addresses, ...extra },
});
const v4Net = (i: number): string => `${10 + ((i >>> 16) & 63)}.${(i >>> 8) & 255}.${i & 255}`;

t.test('config: 5,000 pools, 1,000 L2 and 1,000 BGP advertisements', async (t) => {
  const pools = Array.from({ length: 5000 }, (_, i) => pool(`p${String(i).padStart(4, '0')}`, [`${v4Net(i)}.0/24`, `fd00:${i.toString(16)}::/120`]));
  const ad = (kind: string, i: number): unknown => ({
    apiVersion: 'metallb.io/v1beta1',
    kind,
    metadata: { name: `${kind.toLowerCase()}-${i}`, namespace: 'metallb-system' },
    spec: { ipAddressPools: Array.from({ length: 5 }, (_, k) => `p${String((i * 5 + k) % 5000).padStart(4, '0')}`) },
  });
  const m = measure(() =>
    parseConfig({ pools, l2Advertisements: Array.from({ length: 1000 }, (_, i) => ad('L2Advertisement', i)), bgpAdvertisements: Array.from({ length: 1000 }, (_, i) => ad('BGPAdvertisement', i)) }),
  );
  t.ok(m.result.ok, m.result.ok ? 'valid' : (m.result.errors[0]?.message ?? ''));
  if (m.result.ok) t.equal(m.result.config.pools.size, 5000);
  t.ok(m.retained < 256 * MB, `config retains ${mb(m.retained)}`);
});

t.test('config: huge address lists (50,000 CIDRs in one pool; 1,024 worst-case IPv6 ranges, the CRD maximum)', async (t) => {
  const many = measure(() => parseConfig({ pools: [pool('many', Array.from({ length: 50_000 }, (_, i) => `${v4Net(i >>> 8)}.${i & 255}/32`))] }));
  t.ok(many.result.ok);
  t.ok(many.retained < 128 * MB, `50,000 /32s retain ${mb(many.retained)}`);
  // Each range summarises to ~190 CIDRs (upstream's representation): ~195k CIDRs in all.
  const ranges = Array.from({ length: 1024 }, (_, i) => `fd00:${i.toString(16)}::1-fd00:${i.toString(16)}:ffff:ffff:ffff:ffff:ffff:fffe`);
  const wide = measure(() => parseConfig({ pools: [pool('ranges', ranges)] }));
  t.ok(wide.result.ok);
  const cidrs = wide.result.ok ? (wide.result.config.pools.get('ranges')?.cidrs.length ?? 0) : 0;
  t.ok(cidrs > 190_000, `${cidrs} CIDRs`);
  t.ok(wide.retained < 512 * MB, `1,024 ranges (${cidrs} CIDRs) retain ${mb(wide.retained)}`);
  const whole = parseConfig({ pools: [pool('all4', ['0.0.0.0/0', '0.0.0.0-255.255.255.255']), pool('all6', ['::/0', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'])] });
  t.notOk(whole.ok, 'whole address spaces parse without enumeration (and overlap with themselves)');
});

t.test('config: a huge CR (1 MB annotation, 20,000 labels) against 1,000 labelled nodes and namespaces', async (t) => {
  const labels = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`example.com/l${i}`, `v${i}`]));
  const big = pool('big', ['10.77.0.0/24'], {
    serviceAllocation: {
      namespaceSelectors: [{ matchExpressions: Array.from({ length: 256 }, (_, i) => ({ key: `k${i}`, operator: 'In', values: Array.from({ length: 256 }, (_, j) => `v${j}`) })) }],
    },
  });
  (big['metadata'] as Record<string, unknown>)['labels'] = labels;
  (big['metadata'] as Record<string, unknown>)['annotations'] = { note: 'x'.repeat(1_000_000) };
  const labelled = (kind: string, i: number): unknown => ({
    apiVersion: 'v1',
    kind,
    metadata: { name: `${kind.toLowerCase()}-${i}`, labels: Object.fromEntries(Array.from({ length: 100 }, (_, j) => [`k${j}`, `v${(i + j) % 300}`])) },
  });
  const l2 = {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name: 'l2', namespace: 'metallb-system', labels },
    spec: { ipAddressPools: ['big'], nodeSelectors: Array.from({ length: 256 }, (_, i) => ({ matchLabels: { [`k${i % 100}`]: `v${i}` } })) },
  };
  const m = measure(() =>
    parseConfig({
      pools: [big],
      l2Advertisements: [l2],
      nodes: Array.from({ length: 1000 }, (_, i) => labelled('Node', i)),
      namespaces: Array.from({ length: 1000 }, (_, i) => labelled('Namespace', i)),
    }),
  );
  t.ok(m.result.ok, m.result.ok ? 'valid' : (m.result.errors[0]?.message ?? ''));
  t.ok(m.retained < 128 * MB, `retains ${mb(m.retained)}`);
});

t.test('validate: a 1 MB CR and a 5,000-pool manifest file', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlb-oversized-'));
  try {
    const big = pool('big', ['10.77.0.0/24']);
    (big['metadata'] as Record<string, unknown>)['annotations'] = { note: 'x'.repeat(1_000_000) };
    writeFileSync(path.join(dir, 'big.yaml'), stringify(big));
    writeFileSync(path.join(dir, 'pools.yaml'), Array.from({ length: 5000 }, (_, i) => stringify(pool(`p${i}`, [`${v4Net(i + 1)}.0/24`]))).join('---\n'));
    const out: string[] = [];
    const before = heapAfterGc();
    const code = await runValidate([dir], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
    const retained = heapAfterGc() - before;
    t.equal(code, 0, out.slice(-3).join('\n'));
    t.match(out.at(-1) ?? '', /5001 pools/);
    t.ok(retained < 64 * MB, `retains ${mb(retained)} after the run`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test('ARP/NDP: a flood of 100,000 frames through decodeFrame + respond()', async (t) => {
  const announced = new Map<string, Announcement>();
  // 10,000 announced IPs, none of them the requesters' own (10.77.9.1), so requests get replies.
  for (let i = 0; i < 10_000; i++) announced.set(`10.78.${i >>> 8}.${i & 255}`, { interfaces: 'all' });
  announced.set('fd00:77:9::2', { interfaces: 'all' });
  const ctx: ResponderContext = { announced, iface: { name: 'eth0', mac: '02:00:00:00:00:0b' }, ownMacs: new Set(['02:00:00:00:00:0b']) };
  const arpFor = (i: number): Buffer => {
    const b = Buffer.from(arpRequest);
    b[39] = 78; // target IP at 38..41: 10.78.x.y
    b[40] = (i >>> 8) % 39;
    b[41] = i & 255;
    b[27] = i & 255; // vary the sender MAC (22..27)
    return b;
  };
  // An NS for a varying target, checksum recomputed by the independent helper.
  const nsFor = (i: number): Buffer => {
    const b = Buffer.from(nsMulticast);
    b.writeUInt16BE(i & 0xffff, 76);
    b.writeUInt16BE(0, 56);
    b.writeUInt16BE(icmp6Checksum(b.subarray(22, 38), b.subarray(38, 54), b.subarray(54, 86)), 56);
    return b;
  };
  // Noise: short frames, and ARP/IPv6 EtherTypes over bodies too short or malformed to decode.
  const garbage = (i: number): Buffer => {
    const b = Buffer.from(Array.from({ length: 5 + (i % 80) }, (_, k) => (i * 31 + k * 7) & 0xff));
    if (b.length >= 14) b.writeUInt16BE(i % 4 === 0 ? 0x0806 : 0x86dd, 12);
    return b;
  };
  const kinds = [arpFor, nsFor, () => garpReply, () => naUnsolicited, () => routerSolicitation, garbage];
  const counts = { reply: 0, conflict: 0, drop: 0, bad: 0 };
  const m = measure((sample) => {
    for (let i = 0; i < 100_000; i++) {
      const frame = kinds[i % kinds.length]!(i);
      let decoded: Frame;
      try {
        decoded = decodeFrame(frame);
      } catch (err) {
        if (!isBadFrame(err)) throw err;
        counts.bad++;
        continue;
      }
      const d = respond(ctx, decoded, 0);
      counts[d.kind]++;
      if (d.kind === 'reply') encodeFrame(d.frame);
      if (i % 10_000 === 0) sample();
    }
    return counts;
  });
  t.equal(Object.values(m.result).reduce((a, b) => a + b, 0), 100_000, JSON.stringify(m.result));
  t.ok(m.result.reply > 16_000, `${m.result.reply} replies`);
  t.ok(m.result.bad > 0, `${m.result.bad} bad frames`);
  t.ok(m.peak < 64 * MB, `peak heap growth ${mb(m.peak)}`);
  t.ok(m.retained < 4 * MB, `retained ${mb(m.retained)}`);
});
