/**
 * Pure decoders for what `lab.capture` records: the classic pcap file format (what tcpdump -w
 * writes) and just enough of Ethernet, ARP (RFC 826), IPv4, IPv6 and ICMPv6 neighbour discovery
 * (RFC 4861) for L2 announcement tests. Written independently of src/ so the tests check the
 * product against a second implementation.
 */
import { MetalLbError, ErrorCode } from '../../src/util/errors';

/** ARP payload fields (RFC 826), for Ethernet/IPv4 only. */
export interface ArpInfo {
  /** 1 = request, 2 = reply. */
  readonly op: number;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

/** ICMPv6 header plus the neighbour-discovery fields that matter here (RFC 4861 §4.3, §4.4). */
export interface Icmpv6Info {
  readonly type: number;
  readonly code: number;
  /** NS/NA target address. */
  readonly target?: string;
  /** NA flags (RFC 4861 §4.4): router, solicited, override. */
  readonly router?: boolean;
  readonly solicited?: boolean;
  readonly override?: boolean;
  /** Source (type 1) or target (type 2) link-layer address option. */
  readonly sourceLinkAddr?: string;
  readonly targetLinkAddr?: string;
}

/** One captured Ethernet frame, decoded as far as we understand it. */
export interface Frame {
  /** Capture time in microseconds since the epoch. */
  readonly timeUs: number;
  readonly dst: string;
  readonly src: string;
  readonly ethertype: number;
  readonly arp?: ArpInfo;
  readonly ipv4?: { readonly src: string; readonly dst: string; readonly protocol: number };
  readonly ipv6?: { readonly src: string; readonly dst: string; readonly nextHeader: number; readonly hopLimit: number };
  readonly icmpv6?: Icmpv6Info;
  readonly raw: Buffer;
}

/** Ethertypes used in assertions. */
export const EtherType = { IPv4: 0x0800, ARP: 0x0806, IPv6: 0x86dd } as const;
/** ICMPv6 types for neighbour discovery (RFC 4861 §4). */
export const Icmpv6Type = { RouterSolicit: 133, RouterAdvert: 134, NeighborSolicit: 135, NeighborAdvert: 136 } as const;
/** ARP opcodes (RFC 826). */
export const ArpOp = { Request: 1, Reply: 2 } as const;

/** Format 6 bytes as lower-case colon-separated hex, the way `ip link` prints MACs. */
export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function formatIpv4(b: Buffer): string {
  return [...b].join('.');
}

/** Format 16 bytes as an RFC 5952 canonical IPv6 string (longest zero run compressed, lower case). */
export function formatIpv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  // RFC 5952 §4.2.2: a single 0 group is not compressed.
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Split a classic pcap file (not pcapng) into frames. Handles both byte orders and the
 * microsecond and nanosecond magics. A truncated last record is ignored, because a capture read
 * while tcpdump is still writing can end mid-record.
 */
export function parsePcap(file: Buffer): Frame[] {
  if (file.length < 24) return [];
  const magicLe = file.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nanos = magicLe === 0xa1b23c4d;
  } else if (file.readUInt32BE(0) === 0xa1b2c3d4 || file.readUInt32BE(0) === 0xa1b23c4d) {
    le = false;
    nanos = file.readUInt32BE(0) === 0xa1b23c4d;
  } else {
    throw new MetalLbError(ErrorCode.BadFrame, `not a pcap file (magic 0x${magicLe.toString(16)})`);
  }
  const u32 = (off: number): number => (le ? file.readUInt32LE(off) : file.readUInt32BE(off));
  // Global header: magic, version major/minor, thiszone, sigfigs, snaplen, linktype (offset 20).
  const linkType = u32(20);
  if (linkType !== 1) {
    throw new MetalLbError(ErrorCode.BadFrame, `pcap link type ${linkType} is not Ethernet (1)`);
  }
  const frames: Frame[] = [];
  let off = 24;
  // Record header: ts_sec, ts_usec (or ts_nsec), incl_len, orig_len.
  while (off + 16 <= file.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const inclLen = u32(off + 8);
    if (off + 16 + inclLen > file.length) break;
    const data = Buffer.from(file.subarray(off + 16, off + 16 + inclLen));
    const timeUs = sec * 1_000_000 + (nanos ? Math.floor(frac / 1000) : frac);
    const frame = decodeEthernet(data, timeUs);
    if (frame !== undefined) frames.push(frame);
    off += 16 + inclLen;
  }
  return frames;
}

/** Decode one Ethernet II frame; undefined when it is shorter than an Ethernet header. */
export function decodeEthernet(data: Buffer, timeUs = 0): Frame | undefined {
  if (data.length < 14) return undefined;
  const base = {
    timeUs,
    dst: formatMac(data.subarray(0, 6)),
    src: formatMac(data.subarray(6, 12)),
    ethertype: data.readUInt16BE(12),
    raw: data,
  };
  const payload = data.subarray(14);
  switch (base.ethertype) {
    case EtherType.ARP: {
      const arp = decodeArp(payload);
      return arp === undefined ? base : { ...base, arp };
    }
    case EtherType.IPv4: {
      if (payload.length < 20) return base;
      // IPv4 header: protocol at 9, source at 12, destination at 16.
      return {
        ...base,
        ipv4: { protocol: payload[9] ?? 0, src: formatIpv4(payload.subarray(12, 16)), dst: formatIpv4(payload.subarray(16, 20)) },
      };
    }
    case EtherType.IPv6:
      return decodeIpv6(base, payload);
    default:
      return base;
  }
}

function decodeArp(p: Buffer): ArpInfo | undefined {
  // htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 op(2) sha(6) spa(4) tha(6) tpa(4)
  if (p.length < 28 || p.readUInt16BE(0) !== 1 || p.readUInt16BE(2) !== 0x0800 || p[4] !== 6 || p[5] !== 4) {
    return undefined;
  }
  return {
    op: p.readUInt16BE(6),
    senderMac: formatMac(p.subarray(8, 14)),
    senderIp: formatIpv4(p.subarray(14, 18)),
    targetMac: formatMac(p.subarray(18, 24)),
    targetIp: formatIpv4(p.subarray(24, 28)),
  };
}

function decodeIpv6(base: Omit<Frame, 'arp' | 'ipv4' | 'ipv6' | 'icmpv6'>, p: Buffer): Frame {
  // Fixed header: version/class/flow(4) payload length(2) next header(1) hop limit(1) src(16) dst(16).
  if (p.length < 40) return base;
  const ipv6 = {
    nextHeader: p[6] ?? 0,
    hopLimit: p[7] ?? 0,
    src: formatIpv6(p.subarray(8, 24)),
    dst: formatIpv6(p.subarray(24, 40)),
  };
  // Extension headers are not followed: ND messages never carry them (RFC 4861 §6.1.1 and §7.1.1).
  if (ipv6.nextHeader !== 58) return { ...base, ipv6 };
  const icmpv6 = decodeIcmpv6(p.subarray(40));
  return icmpv6 === undefined ? { ...base, ipv6 } : { ...base, ipv6, icmpv6 };
}

function decodeIcmpv6(p: Buffer): Icmpv6Info | undefined {
  if (p.length < 4) return undefined;
  const type = p[0] ?? 0;
  const code = p[1] ?? 0;
  if ((type !== Icmpv6Type.NeighborSolicit && type !== Icmpv6Type.NeighborAdvert) || p.length < 24) {
    return { type, code };
  }
  // NS/NA: type code checksum(2) flags-or-reserved(4) target(16) options (RFC 4861 §4.3/§4.4).
  const flags = p.readUInt32BE(4);
  let sourceLinkAddr: string | undefined;
  let targetLinkAddr: string | undefined;
  // Options: type(1) length(1, in units of 8 octets) value (RFC 4861 §4.6).
  for (let off = 24; off + 2 <= p.length; ) {
    const optType = p[off] ?? 0;
    const optLen = (p[off + 1] ?? 0) * 8;
    if (optLen === 0 || off + optLen > p.length) break;
    if (optType === 1 && optLen >= 8) sourceLinkAddr = formatMac(p.subarray(off + 2, off + 8));
    if (optType === 2 && optLen >= 8) targetLinkAddr = formatMac(p.subarray(off + 2, off + 8));
    off += optLen;
  }
  const info: Icmpv6Info = {
    type,
    code,
    target: formatIpv6(p.subarray(8, 24)),
    ...(sourceLinkAddr === undefined ? {} : { sourceLinkAddr }),
    ...(targetLinkAddr === undefined ? {} : { targetLinkAddr }),
  };
  if (type !== Icmpv6Type.NeighborAdvert) return info;
  return {
    ...info,
    router: (flags & 0x80000000) !== 0,
    solicited: (flags & 0x40000000) !== 0,
    override: (flags & 0x20000000) !== 0,
  };
}
