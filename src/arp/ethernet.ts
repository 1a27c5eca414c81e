/**
 * Ethernet II header codec (IEEE 802.3 "DIX" framing as received on an AF_PACKET socket: no
 * preamble, no FCS) and the BadFrame error shared by every L2 codec.
 */
import { macToString, writeMac } from './addr';
import { ErrorCode, MetalLbError } from '../util/errors';

/** EtherType values we decode (IEEE registry). */
export const EtherType = { Ipv4: 0x0800, Arp: 0x0806, Ipv6: 0x86dd } as const;

/** Ethernet II header length: dst(6) src(6) type(2). */
export const ETHERNET_HEADER_LENGTH = 14;
/** Minimum Ethernet frame without FCS (64 - 4): shorter frames are padded with zeros on send. */
export const ETHERNET_MIN_FRAME = 60;

/** Why a frame was rejected by a decoder; carried in `details.reason` of MetalLbError(BadFrame). */
export const BadFrameReason = {
  Truncated: 'truncated',
  BadHardwareType: 'bad-hardware-type',
  BadProtocolType: 'bad-protocol-type',
  BadAddressLength: 'bad-address-length',
  BadArpOp: 'bad-arp-op',
  BadIpVersion: 'bad-ip-version',
  BadPayloadLength: 'bad-payload-length',
  BadChecksum: 'bad-checksum',
  BadIcmpCode: 'bad-icmp-code',
  BadOptionLength: 'bad-option-length',
} as const;
export type BadFrameReason = (typeof BadFrameReason)[keyof typeof BadFrameReason];

/** Build the MetalLbError(BadFrame) every decoder throws; `details.reason` is machine-readable. */
export function badFrame(reason: BadFrameReason, message: string, details: Record<string, unknown> = {}): MetalLbError {
  return new MetalLbError(ErrorCode.BadFrame, message, { reason, ...details });
}

/** True when `err` is a decoder rejection (as opposed to a bug). */
export function isBadFrame(err: unknown): err is MetalLbError {
  return err instanceof MetalLbError && err.code === ErrorCode.BadFrame;
}

/** The 14-byte Ethernet II header. */
export interface EthernetHeader {
  dst: string;
  src: string;
  etherType: number;
}

/** Decode the Ethernet header at the start of `buf`; throws BadFrame when shorter than 14 bytes. */
export function decodeEthernetHeader(buf: Uint8Array): EthernetHeader {
  if (buf.length < ETHERNET_HEADER_LENGTH) {
    throw badFrame(BadFrameReason.Truncated, `Ethernet frame of ${buf.length} bytes is shorter than its 14-byte header`, {
      length: buf.length,
    });
  }
  return {
    dst: macToString(buf, 0), //         0..5   destination MAC
    src: macToString(buf, 6), //         6..11  source MAC
    etherType: (buf[12]! << 8) | buf[13]!, // 12..13 EtherType, big-endian
  };
}

/** Write the Ethernet header into the first 14 bytes of `buf`. */
export function writeEthernetHeader(buf: Buffer, h: EthernetHeader): void {
  writeMac(buf, 0, h.dst);
  writeMac(buf, 6, h.src);
  buf.writeUInt16BE(h.etherType, 12);
}
