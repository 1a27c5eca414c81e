/**
 * ICMPv6 Router Advertisement (RFC 4861 §4.2) in whole Ethernet frames, sans-IO: decoding tells
 * an unnumbered BGP peering the router's link-local address, and encoding announces ours, which
 * is how FRR learns an `interface` neighbor's address (zebra records the source of each RA it
 * receives on the link). Ours has router lifetime 0 (RFC 4861 §6.3.4: "not a default router"), so
 * hosts on the link never route through us, and carries no prefix, so nothing autoconfigures.
 */
import { IPV6_ALL_NODES, writeIpv6, writeMac } from './addr';
import { decodeEthernetHeader, ETHERNET_HEADER_LENGTH, EtherType, writeEthernetHeader } from './ethernet';
import { decodeIpv6Header, icmpv6Sum, IPV6_HEADER_LENGTH, ND_HOP_LIMIT, NdpOptionType, NEXT_HEADER_ICMPV6 } from './ndp-codec';

/** ICMPv6 types for router discovery (RFC 4861 §4.1, §4.2). */
export const RouterDiscoveryType = { RouterSolicitation: 133, RouterAdvertisement: 134 } as const;
/** RA fixed part: type, code, checksum, cur hop limit, flags, router lifetime, reachable, retrans. */
const RA_FIXED_LENGTH = 16;
/** The all-nodes group's Ethernet address (RFC 2464 §7). */
const ALL_NODES_MAC = '33:33:00:00:00:01';

/** What an unnumbered peering needs from a received RA. */
export interface RouterAdvert {
  /** The router's link-local source address. */
  source: string;
  sourceMac: string;
  routerLifetimeSec: number;
}

/**
 * The RA in an Ethernet frame, or undefined when the frame is anything else or not a valid RA
 * by RFC 4861 §6.1.2 (link-local source, hop limit 255, code 0, checksum, length >= 16):
 * frames on a packet socket come from anyone, so a bad one is dropped, not an error.
 */
export function decodeRouterAdvert(buf: Uint8Array): RouterAdvert | undefined {
  if (buf.length < ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH + RA_FIXED_LENGTH) return undefined;
  const eth = decodeEthernetHeader(buf);
  if (eth.etherType !== EtherType.Ipv6) return undefined;
  let ip;
  try {
    ip = decodeIpv6Header(buf, ETHERNET_HEADER_LENGTH);
  } catch {
    return undefined;
  }
  const off = ip.payloadOffset;
  if (ip.nextHeader !== NEXT_HEADER_ICMPV6 || ip.payloadEnd - off < RA_FIXED_LENGTH) return undefined;
  if (buf[off] !== RouterDiscoveryType.RouterAdvertisement || buf[off + 1] !== 0) return undefined; // +0 type, +1 code
  if (ip.header.hopLimit !== ND_HOP_LIMIT || !ip.header.src.startsWith('fe80:')) return undefined;
  if (icmpv6Sum(buf, ETHERNET_HEADER_LENGTH, off, ip.payloadEnd) !== 0xffff) return undefined;
  return {
    source: ip.header.src,
    sourceMac: eth.src,
    routerLifetimeSec: (buf[off + 6]! << 8) | buf[off + 7]!, // +6 router lifetime
  };
}

/** An RA from `sourceMac`/`source` (link-local) to all nodes: lifetime 0, no prefixes, our MAC. */
export function encodeRouterAdvert(sourceMac: string, source: string): Buffer {
  const icmpLen = RA_FIXED_LENGTH + 8; // fixed part + source link-layer address option
  const buf = Buffer.alloc(ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH + icmpLen);
  writeEthernetHeader(buf, { dst: ALL_NODES_MAC, src: sourceMac, etherType: EtherType.Ipv6 });
  const ip = ETHERNET_HEADER_LENGTH;
  buf.writeUInt32BE((6 << 28) >>> 0, ip); // version 6, traffic class 0, flow label 0
  buf.writeUInt16BE(icmpLen, ip + 4);
  buf[ip + 6] = NEXT_HEADER_ICMPV6;
  buf[ip + 7] = ND_HOP_LIMIT;
  writeIpv6(buf, ip + 8, source);
  writeIpv6(buf, ip + 24, IPV6_ALL_NODES);
  const i = ip + IPV6_HEADER_LENGTH;
  buf[i] = RouterDiscoveryType.RouterAdvertisement;
  // +1 code 0, +2 checksum, +4 cur hop limit 0 (unspecified), +5 flags 0, +6 router lifetime 0,
  // +8 reachable time 0, +12 retrans timer 0: all zero already.
  buf[i + 16] = NdpOptionType.SourceLinkLayerAddress;
  buf[i + 17] = 1; // 8 octets
  writeMac(buf, i + 18, sourceMac);
  buf.writeUInt16BE(~icmpv6Sum(buf, ip, i, i + icmpLen) & 0xffff, i + 2);
  return buf;
}
