/**
 * IP addresses as (family, BigInt) pairs: the one parser and formatter for address text, used by
 * config, controller, speaker, ARP/NDP and BGP. Integers let the allocator and the pool
 * parser do interval arithmetic, so a /64 costs nothing until addresses are handed out.
 *
 * Parsing is strict like Go's `net.ParseIP` (Go 1.17+), which upstream MetalLB uses everywhere:
 * - IPv4 is exactly four decimal parts with no leading zeros. `010.0.0.1` is rejected, not read
 *   as octal (inet_aton) or as decimal 10 (Kubernetes' `netutils.ParseIPSloppy`).
 * - IPv6 is RFC 4291 §2.2 text: eight groups of 1-4 hex digits, one `::` standing for at least
 *   one zero group, an optional dotted IPv4 tail. `::1.2.3.4` is `::102:304`.
 * - No zone index (`fe80::1%eth0`), no whitespace, no prefix.
 * - `::ffff:a.b.c.d` is an IPv6 address (family 6, value `0xffff_xxxx_xxxx`), as the config
 *   parser and the speaker always read it. Go's `To4()` would call it IPv4; we keep the family
 *   the text was written in so parse and format round-trip and the components agree.
 */
import { formatIpv6Groups, ipv6Groups } from './ipv6-text';

/** Address family of an IP, CIDR or range. */
export type IpFamily = 4 | 6;

/** One parsed address: IPv4 in the low 32 bits, IPv6 as 128 bits. */
export interface IpAddr {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** Number of address bits per family. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
/** Longest valid text: eight four-digit groups with an IPv4 tail. */
const MAX_TEXT_LENGTH = 45;

/** Strict dotted-quad IPv4 as an unsigned 32-bit number. */
function parseV4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!DECIMAL_OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/** RFC 4291 §2.2 text form as a 128-bit value. */
function parseV6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === '') return [];
    const items = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as string;
      if (allowV4Tail && i === items.length - 1 && item.includes('.')) {
        // The dotted tail fills the last two groups (RFC 4291 §2.2 form 3).
        const v4 = parseV4(item);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else if (HEX_GROUP.test(item)) out.push(parseInt(item, 16));
      else return undefined;
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 1) {
    const g = groupsOf(halves[0] as string, true);
    if (g === undefined || g.length !== 8) return undefined;
    groups = g;
  } else {
    const head = groupsOf(halves[0] as string, false);
    const tail = groupsOf(halves[1] as string, true);
    // "::" must stand for at least one group of zeros.
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/**
 * Parse an IPv4 or IPv6 address (rules in the file comment); `undefined` when it is not one.
 * The caller decides whether surrounding whitespace is trimmed (upstream trims list items only).
 */
export function parseIp(text: string): IpAddr | undefined {
  if (text.length === 0 || text.length > MAX_TEXT_LENGTH) return undefined;
  if (text.includes(':')) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const v4 = parseV4(text);
  return v4 === undefined ? undefined : { family: 4, value: BigInt(v4) };
}

/** Parse an address or throw a RangeError: for tests and fixed inputs only. */
export function mustParseIp(text: string): IpAddr {
  const ip = parseIp(text);
  if (ip === undefined) throw new RangeError(`invalid IP ${JSON.stringify(text)}`);
  return ip;
}

/**
 * Format an address as Go's `net.IP.String` does for its family: dotted decimal for IPv4,
 * RFC 5952 §4 for IPv6 (lower case, no leading zeros, the longest run of two or more zero groups
 * compressed, the first on a tie). A v4-mapped IPv6 address stays IPv6 text (`::ffff:102:304`),
 * so that reading the text back gives the same family.
 */
export function formatIp(ip: IpAddr): string {
  if (ip.family === 6) return formatIpv6Groups(ipv6Groups(ip.value));
  const n = Number(ip.value);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Canonical text of an address string, or undefined if it does not parse. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip === undefined ? undefined : formatIp(ip);
}

/** Network-order bytes of an address: 4 for IPv4, 16 for IPv6. */
export function ipToBytes(ip: IpAddr): Buffer {
  const len = ip.family === 4 ? 4 : 16;
  const out = Buffer.alloc(len);
  let v = ip.value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Upstream's `ipConfusesBuggyFirmwares`: an IPv4 address ending in .0 or .255 trips smurf
 * protection on some CPE firmware, so `avoidBuggyIPs` pools never hand them out.
 */
export function isBuggyIp(ip: IpAddr): boolean {
  if (ip.family !== 4) return false;
  const low = ip.value & 0xffn;
  return low === 0n || low === 255n;
}
