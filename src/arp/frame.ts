/**
 * Whole Ethernet frames as the L2 responder sees them: decode dispatches on EtherType to the ARP or
 * IPv6/ND codec; encode is its inverse. Frames that are well formed but not ARP or NS/NA decode to
 * `{ kind: 'other' }` (not an error); malformed ones throw MetalLbError(BadFrame).
 */
import { ARP_PACKET_LENGTH, type ArpPacket, decodeArp, writeArp } from './arp-codec';
import {
  ETHERNET_HEADER_LENGTH,
  ETHERNET_MIN_FRAME,
  EtherType,
  type EthernetHeader,
  decodeEthernetHeader,
  writeEthernetHeader,
} from './ethernet';
import { NEXT_HEADER_ICMPV6, type Ipv6Header, type NdpMessage, decodeIpv6Header, decodeNdp, ndpPacketLength, writeIpv6Ndp } from './ndp-codec';

/** An ARP frame. The Ethernet type is always 0x0806. */
export interface ArpFrame {
  kind: 'arp';
  eth: EthernetHeader;
  arp: ArpPacket;
}

/** An IPv6 frame carrying an NS or NA. The Ethernet type is always 0x86dd. */
export interface NdpFrame {
  kind: 'ndp';
  eth: EthernetHeader;
  ip6: Ipv6Header;
  ndp: NdpMessage;
}

/** A well-formed frame that is neither ARP nor IPv6 NS/NA. */
export interface OtherFrame {
  kind: 'other';
  eth: EthernetHeader;
}

/** Everything decodeFrame can return. */
export type Frame = ArpFrame | NdpFrame | OtherFrame;

/** Decode one Ethernet frame; throws MetalLbError(BadFrame) with `details.reason`. */
export function decodeFrame(buf: Uint8Array): Frame {
  const eth = decodeEthernetHeader(buf);
  if (eth.etherType === EtherType.Arp) return { kind: 'arp', eth, arp: decodeArp(buf, ETHERNET_HEADER_LENGTH) };
  if (eth.etherType !== EtherType.Ipv6) return { kind: 'other', eth };
  const ip = decodeIpv6Header(buf, ETHERNET_HEADER_LENGTH);
  // ND messages never carry extension headers in practice, and the kernel filter already
  // assumes next header 58 at a fixed offset; anything else is simply not ours.
  if (ip.nextHeader !== NEXT_HEADER_ICMPV6) return { kind: 'other', eth };
  const ndp = decodeNdp(buf, ETHERNET_HEADER_LENGTH, ip.payloadOffset, ip.payloadEnd);
  return ndp === undefined ? { kind: 'other', eth } : { kind: 'ndp', eth, ip6: ip.header, ndp };
}

/** Encode an ARP or ND frame; ARP frames are zero-padded to the 60-byte Ethernet minimum. */
export function encodeFrame(frame: ArpFrame | NdpFrame): Buffer {
  if (frame.kind === 'arp') {
    const buf = Buffer.alloc(ETHERNET_MIN_FRAME); // 14 + 28 = 42, padded with zeros to 60
    writeEthernetHeader(buf, { ...frame.eth, etherType: EtherType.Arp });
    writeArp(buf, ETHERNET_HEADER_LENGTH, frame.arp);
    return buf;
  }
  const len = ETHERNET_HEADER_LENGTH + ndpPacketLength(frame.ndp); // 78 or 86 bytes, above the minimum
  const buf = Buffer.alloc(len);
  writeEthernetHeader(buf, { ...frame.eth, etherType: EtherType.Ipv6 });
  writeIpv6Ndp(buf, ETHERNET_HEADER_LENGTH, frame.ip6, frame.ndp);
  return buf;
}

/** Bytes of an encoded ARP frame that carry data (the rest is padding). */
export const ARP_FRAME_DATA_LENGTH = ETHERNET_HEADER_LENGTH + ARP_PACKET_LENGTH;
