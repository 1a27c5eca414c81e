/**
 * IPv6 header (RFC 8200 §3) and ICMPv6 Neighbor Solicitation / Advertisement (RFC 4861 §4.3,
 * §4.4) with the source/target link-layer address options (§4.6.1, RFC 2464 §6), sans-IO.
 * The ICMPv6 checksum covers a pseudo-header (RFC 8200 §8.1); we compute and verify it ourselves
 * because a packet socket, unlike a raw ICMPv6 socket, gets no help from the kernel.
 */
import { ipv6ToString, macToString, writeIpv6, writeMac } from './addr';
import { BadFrameReason, badFrame } from './ethernet';

/** IPv6 fixed header length. */
export const IPV6_HEADER_LENGTH = 40;
/** IPPROTO_ICMPV6. */
export const NEXT_HEADER_ICMPV6 = 58;
/** ICMPv6 types we decode (RFC 4861 §4). */
export const Icmpv6Type = { NeighborSolicitation: 135, NeighborAdvertisement: 136 } as const;
/** RFC 4861 §4.6 option types we understand. */
export const NdpOptionType = { SourceLinkLayerAddress: 1, TargetLinkLayerAddress: 2 } as const;
/** NS and NA share the layout type, code, checksum, 4 bytes, 16-byte target: 24 bytes before options. */
export const NDP_FIXED_LENGTH = 24;
/** RFC 4861 §7.1: ND messages are sent, and must be received, with hop limit 255 (proves on-link origin). */
export const ND_HOP_LIMIT = 255;

/** The IPv6 fixed header minus what the codec derives (version, payload length, next header). */
export interface Ipv6Header {
  trafficClass: number;
  flowLabel: number;
  hopLimit: number;
  src: string;
  dst: string;
}

/** Neighbor Solicitation (RFC 4861 §4.3). */
export interface NeighborSolicitation {
  type: 'ns';
  target: string;
  /** Source Link-Layer Address option; absent in DAD probes from `::` (RFC 4861 §4.3). */
  sourceLinkLayerAddress?: string;
}

/** Neighbor Advertisement (RFC 4861 §4.4). */
export interface NeighborAdvertisement {
  type: 'na';
  router: boolean;
  solicited: boolean;
  override: boolean;
  target: string;
  /** Target Link-Layer Address option. */
  targetLinkLayerAddress?: string;
}

/** The two ND messages an L2 responder deals with. */
export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

/** The decoded IPv6 fixed header plus where its payload lies in the buffer. */
export interface Ipv6Decoded {
  header: Ipv6Header;
  nextHeader: number;
  payloadOffset: number;
  payloadEnd: number;
}

/** Decode the IPv6 header at `off`; bytes beyond payload length (Ethernet padding) are ignored. */
export function decodeIpv6Header(buf: Uint8Array, off: number): Ipv6Decoded {
  if (buf.length - off < IPV6_HEADER_LENGTH) {
    throw badFrame(BadFrameReason.Truncated, `IPv6 packet of ${buf.length - off} bytes is shorter than its 40-byte header`, {
      length: buf.length - off,
    });
  }
  const version = buf[off]! >> 4; //                                   +0 version(4) | traffic class(8) | flow label(20)
  if (version !== 6) throw badFrame(BadFrameReason.BadIpVersion, `IP version ${version} in an IPv6 EtherType frame`, { version });
  const trafficClass = ((buf[off]! & 0x0f) << 4) | (buf[off + 1]! >> 4);
  const flowLabel = ((buf[off + 1]! & 0x0f) << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
  const payloadLength = (buf[off + 4]! << 8) | buf[off + 5]!; //       +4 payload length
  const nextHeader = buf[off + 6]!; //                                 +6 next header
  const hopLimit = buf[off + 7]!; //                                   +7 hop limit
  const payloadOffset = off + IPV6_HEADER_LENGTH;
  if (payloadOffset + payloadLength > buf.length) {
    throw badFrame(BadFrameReason.BadPayloadLength, `IPv6 payload length ${payloadLength} exceeds the ${buf.length - payloadOffset} bytes present`, {
      payloadLength,
    });
  }
  return {
    header: {
      trafficClass,
      flowLabel,
      hopLimit,
      src: ipv6ToString(buf, off + 8), //  +8  source address
      dst: ipv6ToString(buf, off + 24), // +24 destination address
    },
    nextHeader,
    payloadOffset,
    payloadEnd: payloadOffset + payloadLength,
  };
}

/**
 * One's-complement sum over the IPv6 pseudo-header (src, dst, upper-layer length, next header 58)
 * and the ICMPv6 message (RFC 8200 §8.1, RFC 4443 §2.3). Returns the folded 16-bit sum; a message
 * whose checksum field is correct sums to 0xffff.
 */
export function icmpv6Sum(buf: Uint8Array, ipOff: number, icmpOff: number, icmpEnd: number): number {
  let sum = 0;
  for (let i = ipOff + 8; i < ipOff + 40; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!; // src + dst
  const len = icmpEnd - icmpOff;
  sum += (len >>> 16) + (len & 0xffff) + NEXT_HEADER_ICMPV6; // 32-bit length, 3 zero bytes, next header
  let i = icmpOff;
  for (; i + 1 < icmpEnd; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < icmpEnd) sum += buf[i]! << 8; // odd length: pad with a zero byte
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * Decode an NS or NA at `off..end` (the IPv6 payload); returns undefined for other ICMPv6 types,
 * which are not errors, just not ours. Checks what RFC 4861 §7.1.1/§7.1.2 make a parse matter
 * (checksum, code 0, length >= 24, option lengths); hop limit and address rules are policy and are
 * left to the responder.
 */
export function decodeNdp(buf: Uint8Array, ipOff: number, off: number, end: number): NdpMessage | undefined {
  if (end - off < 4) throw badFrame(BadFrameReason.Truncated, `ICMPv6 message of ${end - off} bytes is shorter than 4`, { length: end - off });
  const type = buf[off]!; //  +0 type
  const code = buf[off + 1]!; // +1 code; +2..3 checksum
  if (type !== Icmpv6Type.NeighborSolicitation && type !== Icmpv6Type.NeighborAdvertisement) return undefined;
  if (end - off < NDP_FIXED_LENGTH) {
    throw badFrame(BadFrameReason.Truncated, `ICMPv6 type ${type} of ${end - off} bytes is shorter than 24`, { type, length: end - off });
  }
  if (icmpv6Sum(buf, ipOff, off, end) !== 0xffff) {
    throw badFrame(BadFrameReason.BadChecksum, `ICMPv6 type ${type} checksum 0x${((buf[off + 2]! << 8) | buf[off + 3]!).toString(16)} is wrong`, { type });
  }
  if (code !== 0) throw badFrame(BadFrameReason.BadIcmpCode, `ICMPv6 type ${type} has code ${code}, not 0`, { type, code });
  const target = ipv6ToString(buf, off + 8); // +8 target address (+4..7 flags/reserved)
  let lla: string | undefined;
  const wanted = type === Icmpv6Type.NeighborSolicitation ? NdpOptionType.SourceLinkLayerAddress : NdpOptionType.TargetLinkLayerAddress;
  // Options (RFC 4861 §4.6): type(1) length(1, units of 8 bytes, 0 is invalid) value.
  for (let o = off + NDP_FIXED_LENGTH; o < end; ) {
    if (end - o < 2) throw badFrame(BadFrameReason.BadOptionLength, `ICMPv6 option at byte ${o - off} is cut off`, { type });
    const optType = buf[o]!;
    const optLen = buf[o + 1]! * 8;
    if (optLen === 0 || o + optLen > end) {
      throw badFrame(BadFrameReason.BadOptionLength, `ICMPv6 option ${optType} has length ${optLen} with ${end - o} bytes left`, { type, optType });
    }
    if (optType === wanted && lla === undefined) {
      // RFC 2464 §6: on Ethernet the option is exactly 8 bytes, type, length 1, 6-byte MAC.
      if (optLen !== 8) throw badFrame(BadFrameReason.BadOptionLength, `link-layer address option of ${optLen} bytes on Ethernet`, { type, optType });
      lla = macToString(buf, o + 2);
    }
    o += optLen; // unknown options are skipped (RFC 4861 §4.6)
  }
  if (type === Icmpv6Type.NeighborSolicitation) {
    return lla === undefined ? { type: 'ns', target } : { type: 'ns', target, sourceLinkLayerAddress: lla };
  }
  const flags = buf[off + 4]!; // +4 R(0x80) S(0x40) O(0x20), 29 reserved bits
  const na: NeighborAdvertisement = {
    type: 'na',
    router: (flags & 0x80) !== 0,
    solicited: (flags & 0x40) !== 0,
    override: (flags & 0x20) !== 0,
    target,
  };
  if (lla !== undefined) na.targetLinkLayerAddress = lla;
  return na;
}

/** Byte length of the IPv6 packet `encodeIpv6Ndp` produces for `msg`. */
export function ndpPacketLength(msg: NdpMessage): number {
  const lla = msg.type === 'ns' ? msg.sourceLinkLayerAddress : msg.targetLinkLayerAddress;
  return IPV6_HEADER_LENGTH + NDP_FIXED_LENGTH + (lla === undefined ? 0 : 8);
}

/** Write the IPv6 header and ND message at `off` in `buf` (ndpPacketLength bytes), checksum included. */
export function writeIpv6Ndp(buf: Buffer, off: number, h: Ipv6Header, msg: NdpMessage): void {
  const total = ndpPacketLength(msg);
  const icmpLen = total - IPV6_HEADER_LENGTH;
  buf.writeUInt32BE(((6 << 28) | ((h.trafficClass & 0xff) << 20) | (h.flowLabel & 0xfffff)) >>> 0, off);
  buf.writeUInt16BE(icmpLen, off + 4);
  buf[off + 6] = NEXT_HEADER_ICMPV6;
  buf[off + 7] = h.hopLimit;
  writeIpv6(buf, off + 8, h.src);
  writeIpv6(buf, off + 24, h.dst);
  const i = off + IPV6_HEADER_LENGTH;
  buf.fill(0, i, i + icmpLen);
  let lla: string | undefined;
  if (msg.type === 'ns') {
    buf[i] = Icmpv6Type.NeighborSolicitation;
    lla = msg.sourceLinkLayerAddress;
  } else {
    buf[i] = Icmpv6Type.NeighborAdvertisement;
    buf[i + 4] = (msg.router ? 0x80 : 0) | (msg.solicited ? 0x40 : 0) | (msg.override ? 0x20 : 0);
    lla = msg.targetLinkLayerAddress;
  }
  writeIpv6(buf, i + 8, msg.target);
  if (lla !== undefined) {
    buf[i + 24] = msg.type === 'ns' ? NdpOptionType.SourceLinkLayerAddress : NdpOptionType.TargetLinkLayerAddress;
    buf[i + 25] = 1; // 8 bytes
    writeMac(buf, i + 26, lla);
  }
  // Checksum field is zero while summing; store the one's complement (RFC 4443 §2.3).
  const sum = icmpv6Sum(buf, off, i, i + icmpLen);
  buf.writeUInt16BE(~sum & 0xffff, i + 2);
}
