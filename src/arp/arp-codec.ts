/**
 * ARP for IPv4 over Ethernet (RFC 826), sans-IO. Only the Ethernet/IPv4 combination exists on the
 * segments we serve, so any other hardware/protocol type or address length is a BadFrame.
 * Gratuitous ARP (RFC 5227 §3, RFC 5944 §4.6) is an ordinary request or reply whose sender and
 * target protocol addresses are both the announced IP; it needs no separate wire type.
 */
import { ipv4ToString, macToString, writeIpv4, writeMac } from './addr';
import { BadFrameReason, badFrame } from './ethernet';

/** ARP operation codes (RFC 826; IANA "ARP Operation Codes"). */
export const ArpOp = { Request: 1, Reply: 2 } as const;
export type ArpOp = (typeof ArpOp)[keyof typeof ArpOp];

/** Length of an Ethernet/IPv4 ARP packet: 8-byte fixed part + 2 × (6 + 4) addresses. */
export const ARP_PACKET_LENGTH = 28;
const HTYPE_ETHERNET = 1;
const PTYPE_IPV4 = 0x0800;

/** An Ethernet/IPv4 ARP packet with addresses as canonical strings. */
export interface ArpPacket {
  op: ArpOp;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** Decode the ARP packet starting at `off`; trailing bytes (Ethernet padding) are ignored. */
export function decodeArp(buf: Uint8Array, off: number): ArpPacket {
  if (buf.length - off < ARP_PACKET_LENGTH) {
    throw badFrame(BadFrameReason.Truncated, `ARP packet of ${buf.length - off} bytes is shorter than 28`, {
      length: buf.length - off,
    });
  }
  const htype = (buf[off]! << 8) | buf[off + 1]!; //     +0  hardware type, 1 = Ethernet
  const ptype = (buf[off + 2]! << 8) | buf[off + 3]!; // +2  protocol type, 0x0800 = IPv4
  const hlen = buf[off + 4]!; //                         +4  hardware address length, 6
  const plen = buf[off + 5]!; //                         +5  protocol address length, 4
  const op = (buf[off + 6]! << 8) | buf[off + 7]!; //    +6  operation
  if (htype !== HTYPE_ETHERNET) throw badFrame(BadFrameReason.BadHardwareType, `ARP hardware type ${htype} is not Ethernet (1)`, { htype });
  if (ptype !== PTYPE_IPV4) throw badFrame(BadFrameReason.BadProtocolType, `ARP protocol type 0x${ptype.toString(16)} is not IPv4`, { ptype });
  if (hlen !== 6 || plen !== 4) {
    throw badFrame(BadFrameReason.BadAddressLength, `ARP address lengths ${hlen}/${plen} are not 6/4`, { hlen, plen });
  }
  if (op !== ArpOp.Request && op !== ArpOp.Reply) throw badFrame(BadFrameReason.BadArpOp, `ARP operation ${op} is neither request nor reply`, { op });
  return {
    op,
    senderMac: macToString(buf, off + 8), //   +8  sender hardware address
    senderIp: ipv4ToString(buf, off + 14), //  +14 sender protocol address
    targetMac: macToString(buf, off + 18), //  +18 target hardware address
    targetIp: ipv4ToString(buf, off + 24), //  +24 target protocol address
  };
}

/** Write `p` as 28 bytes at `off` in `buf`. */
export function writeArp(buf: Buffer, off: number, p: ArpPacket): void {
  buf.writeUInt16BE(HTYPE_ETHERNET, off);
  buf.writeUInt16BE(PTYPE_IPV4, off + 2);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  buf.writeUInt16BE(p.op, off + 6);
  writeMac(buf, off + 8, p.senderMac);
  writeIpv4(buf, off + 14, p.senderIp);
  writeMac(buf, off + 18, p.targetMac);
  writeIpv4(buf, off + 24, p.targetIp);
}
