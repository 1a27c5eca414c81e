import type { IpFamily } from '../config/types';
import { formatIpv6Groups, ipv6Groups } from '../util/ipv6-text';

/**
 * IP addresses as (family, BigInt) pairs: the allocator does all its arithmetic on integers so
 * a /64 costs nothing until addresses are handed out. Parsing follows Go's `net.ParseIP`, which
 * upstream MetalLB uses everywhere (metallb-spec.md §2.2, §3.4): strict dotted decimal for IPv4
 * (no leading zeros, no short forms), RFC 4291 text for IPv6, no zone index, no whitespace; an
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is an IPv4 address, because Go's `To4()` says so.
 */

export type { IpFamily };

/** One parsed address. */
export interface IpAddr {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** Upstream's family names as printed in its messages (`internal/ipfamily`). */
export const FamilyName = { ipv4: 'ipv4', ipv6: 'ipv6', dual: 'dual', unknown: 'unknown' } as const;
/** A family name as upstream prints it. */
export type FamilyName = (typeof FamilyName)[keyof typeof FamilyName];

/** Number of address bits per family. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** Largest address of a family (all ones). */
export function familyMax(family: IpFamily): bigint {
  return family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
}


const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Strict dotted-quad IPv4 (Go 1.17+: no leading zeros, exactly four decimal parts). */
function parseV4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/**
 * RFC 4291 §2.2 text form: eight groups, one `::` standing for at least one zero group, an
 * optional dotted IPv4 tail. Hand-written because ipaddr.js reads `::1.2.3.4` as
 * `::ffff:1.2.3.4` and accepts zone indexes, both of which Go rejects or reads differently.
 */
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
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/**
 * Parse an address like Go's `net.ParseIP`; `undefined` when it would return nil.
 * The caller decides whether surrounding whitespace is trimmed (upstream trims list items only).
 */
export function parseIp(text: string): IpAddr | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  if (text.includes(':')) {
    const value = parseV6(text);
    if (value === undefined) return undefined;
    if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
    return { family: 6, value };
  }
  const v4 = parseV4(text);
  return v4 === undefined ? undefined : { family: 4, value: BigInt(v4) };
}

/** Format an IPv4 integer as dotted decimal. */
function formatV4(value: bigint): string {
  const n = Number(value);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * Format an IPv6 integer in RFC 5952 §4 canonical form, as Go's `net.IP.String` does: lowercase,
 * no leading zeros, the longest run of two or more zero groups compressed (the first on a tie).
 * An IPv4-mapped value is printed dotted, again like Go.
 */
function formatV6(value: bigint): string {
  if (value >> 32n === 0xffffn) return formatV4(value & 0xffffffffn);
  return formatIpv6Groups(ipv6Groups(value));
}

/** Format an address the way Go's `net.IP.String` does. */
export function formatIp(ip: IpAddr): string {
  return ip.family === 4 ? formatV4(ip.value) : formatV6(ip.value);
}

/** Parse an address or throw a RangeError: for tests and fixed inputs only. */
export function mustParseIp(text: string): IpAddr {
  const ip = parseIp(text);
  if (ip === undefined) throw new RangeError(`invalid IP ${JSON.stringify(text)}`);
  return ip;
}

/** An inclusive range of addresses of one family. */
export interface IpRange {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

/** A CIDR as an inclusive range plus its prefix length. */
export interface IpCidr extends IpRange {
  readonly prefixLen: number;
}

/**
 * Parse `ip/len` strictly (no bare IP, no whitespace), clearing host bits as Go's
 * `net.ParseCIDR` does (metallb-spec.md §2.2). `undefined` when invalid.
 */
export function parseCidr(text: string): IpCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !/^[0-9]{1,3}$/.test(lenText)) return undefined;
  // Go's ParseCIDR keeps the textual family: "::ffff:1.2.3.0/120" is IPv6 there. Mapped CIDRs
  // are not worth supporting; reject them rather than guess.
  if (ip.family === 4 && text.slice(0, slash).includes(':')) return undefined;
  const prefixLen = Number(lenText);
  const bits = familyBits(ip.family);
  if (prefixLen > bits) return undefined;
  return cidrOf(ip.family, ip.value, prefixLen);
}

/** The CIDR of `prefixLen` bits containing `value`. */
export function cidrOf(family: IpFamily, value: bigint, prefixLen: number): IpCidr {
  const hostBits = BigInt(familyBits(family) - prefixLen);
  const first = (value >> hostBits) << hostBits;
  return { family, first, last: first + (1n << hostBits) - 1n, prefixLen };
}

/** Format a CIDR as `network/len`. */
export function formatCidr(cidr: IpCidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.first })}/${cidr.prefixLen}`;
}

/**
 * The minimal ordered list of CIDRs covering an inclusive range, as upstream's range expansion
 * produces (`3.3.3.2-3.3.3.254` -> /31,/30,/29,...,/32; metallb-spec.md §2.2).
 */
export function rangeToCidrs(range: IpRange): IpCidr[] {
  const bits = familyBits(range.family);
  const out: IpCidr[] = [];
  let start = range.first;
  while (start <= range.last) {
    // Largest block aligned at `start` that does not pass `last`.
    let hostBits = 0;
    while (hostBits < bits) {
      const size = 1n << BigInt(hostBits + 1);
      if (start % size !== 0n || start + size - 1n > range.last) break;
      hostBits++;
    }
    out.push({ family: range.family, first: start, last: start + (1n << BigInt(hostBits)) - 1n, prefixLen: bits - hostBits });
    start += 1n << BigInt(hostBits);
  }
  return out;
}

/** True if `ip` lies in `range` (same family, inclusive bounds). */
export function rangeContains(range: IpRange, ip: IpAddr): boolean {
  return range.family === ip.family && ip.value >= range.first && ip.value <= range.last;
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

/** Go's `%q` for one string: double quotes, Go escapes for control characters. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's `%q` for a slice of strings or addresses: `["a" "b"]`. */
export function goQuoteList(items: readonly (string | IpAddr)[]): string {
  return `[${items.map((i) => goQuote(typeof i === 'string' ? i : formatIp(i))).join(' ')}]`;
}
