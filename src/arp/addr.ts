/**
 * Address helpers for the L2 codecs: MAC and IP text <-> bytes. Decoded frames carry addresses as
 * canonical strings (lower-case colon MACs, dotted IPv4, RFC 5952 IPv6) so the pure responder can
 * key maps on them and tests can deep-compare them; the hot path formats bytes by hand. Text is
 * parsed by src/net, the one address parser, so a VIP reads the same here as in config.
 */
import { formatIp, ipToBytes, parseIp } from '../net/ip';
import { formatIpv6Groups } from '../net/ipv6-text';
import { ErrorCode, MetalLbError } from '../util/errors';

/** ff:ff:ff:ff:ff:ff, the Ethernet broadcast address. */
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
/** 00:00:00:00:00:00, the "unknown" target hardware address of an ARP request (RFC 826). */
export const ZERO_MAC = '00:00:00:00:00:00';
/** The IPv6 unspecified address `::`, the source of a DAD solicitation (RFC 4862 §5.4.2). */
export const IPV6_UNSPECIFIED = '::';
/** ff02::1, the link-local all-nodes group (RFC 4291 §2.7.1). */
export const IPV6_ALL_NODES = 'ff02::1';

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Format 6 bytes at `off` as `aa:bb:cc:dd:ee:ff`. */
export function macToString(buf: Uint8Array, off = 0): string {
  return `${HEX[buf[off]!]}:${HEX[buf[off + 1]!]}:${HEX[buf[off + 2]!]}:${HEX[buf[off + 3]!]}:${HEX[buf[off + 4]!]}:${HEX[buf[off + 5]!]}`;
}

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/** Parse `aa:bb:cc:dd:ee:ff` (or dash-separated) into 6 bytes; throws BadAddress. */
export function macToBytes(mac: string): Buffer {
  if (!MAC_RE.test(mac)) throw new MetalLbError(ErrorCode.BadAddress, `invalid MAC address ${JSON.stringify(mac)}`, { mac });
  return Buffer.from(mac.replace(/[:-]/g, ''), 'hex');
}

/** Write a MAC string into `buf` at `off` (the string must already be valid). */
export function writeMac(buf: Buffer, off: number, mac: string): void {
  // Written with parseInt per octet: Buffer.write(hex) would need the separators stripped first.
  for (let i = 0; i < 6; i++) buf[off + i] = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
}

/** Canonical form of a MAC string (lower case, colons); throws BadAddress. */
export function normaliseMac(mac: string): string {
  return macToString(macToBytes(mac));
}

/** True for group (multicast or broadcast) MACs: the I/G bit, bit 0 of the first octet (IEEE 802). */
export function isGroupMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** Format 4 bytes at `off` as a dotted quad. */
export function ipv4ToString(buf: Uint8Array, off = 0): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/**
 * Format 16 bytes at `off` as RFC 5952 text: lower case, no leading zeros, the longest run of two
 * or more zero groups (the first on a tie) compressed to `::` (RFC 5952 §4.2).
 */
export function ipv6ToString(buf: Uint8Array, off = 0): string {
  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = (buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!;
  return formatIpv6Groups(groups);
}

/** An IP address as the L2 codecs need it: family, canonical text and network-order bytes. */
export interface IpBytes {
  family: 4 | 6;
  text: string;
  bytes: Buffer;
}

/**
 * Parse an IPv4 or IPv6 address (strict forms only: no inet_aton shorthands such as "10.77.0" or
 * octal "010.0.0.1", no zone ids, none of which belong in a VIP); throws MetalLbError(BadAddress).
 */
export function parseIpBytes(text: string): IpBytes {
  const ip = parseIp(text);
  if (ip === undefined) throw new MetalLbError(ErrorCode.BadAddress, `invalid IP address ${JSON.stringify(text)}`, { ip: text });
  return { family: ip.family, text: formatIp(ip), bytes: ipToBytes(ip) };
}

/** Write a dotted-quad IPv4 string into `buf` at `off`; throws BadAddress. */
export function writeIpv4(buf: Buffer, off: number, ip: string): void {
  // Hand-parsed: this runs once per ARP reply on the hot path.
  const parts = ip.split('.');
  if (parts.length !== 4) throw new MetalLbError(ErrorCode.BadAddress, `invalid IPv4 address ${JSON.stringify(ip)}`, { ip });
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    const n = Number(p);
    if (p === '' || !Number.isInteger(n) || n < 0 || n > 255) {
      throw new MetalLbError(ErrorCode.BadAddress, `invalid IPv4 address ${JSON.stringify(ip)}`, { ip });
    }
    buf[off + i] = n;
  }
}

/** Write an IPv6 string into `buf` at `off`; throws BadAddress (also for IPv4 text). */
export function writeIpv6(buf: Buffer, off: number, ip: string): void {
  const parsed = parseIpBytes(ip);
  if (parsed.family !== 6) throw new MetalLbError(ErrorCode.BadAddress, `not an IPv6 address ${JSON.stringify(ip)}`, { ip });
  parsed.bytes.copy(buf, off);
}

/** ff02::1:ffXX:XXXX for an IPv6 address: its solicited-node multicast group (RFC 4291 §2.7.1). */
export function solicitedNodeAddress(ip6: Buffer): string {
  const out = Buffer.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, ip6[13]!, ip6[14]!, ip6[15]!]);
  return ipv6ToString(out);
}

/** 33:33:ff:XX:XX:XX for an IPv6 address: the Ethernet MAC of its solicited-node group (RFC 2464 §7). */
export function solicitedNodeMac(ip6: Buffer): string {
  return `33:33:ff:${HEX[ip6[13]!]}:${HEX[ip6[14]!]}:${HEX[ip6[15]!]}`;
}

/** 33:33 followed by the low 32 bits of an IPv6 multicast address (RFC 2464 §7). */
export function ipv6MulticastMac(ip6: Buffer): string {
  return `33:33:${HEX[ip6[12]!]}:${HEX[ip6[13]!]}:${HEX[ip6[14]!]}:${HEX[ip6[15]!]}`;
}
