/**
 * IP, CIDR and range parsing for pool addresses (metallb-spec.md §2.2), as BigInt intervals so a
 * /48 costs the same as a /32. Parsing is strict like Go's `net.ParseIP`/`net.ParseCIDR`: no
 * whitespace around a CIDR, no IPv4 leading zeros, no zones, no bare IP without `/len`.
 */
import type { CidrRange, IpFamily } from './types';
import { formatIpv6Groups, ipv6Groups } from '../util/ipv6-text';

/** A parsed IP address. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** Number of address bits per family. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

const V4_PART_RE = /^(0|[1-9][0-9]{0,2})$/;
const V6_GROUP_RE = /^[0-9A-Fa-f]{1,4}$/;

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!V4_PART_RE.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.length > 45) return undefined;
  let groups: bigint[] = [];
  // An embedded IPv4 tail (RFC 4291 §2.2 form 3) counts as two groups.
  let tail: bigint[] = [];
  let body = s;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > lastColon) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    body = s.slice(0, lastColon + 1);
    // Keep a trailing "::" (zeros before the tail); drop a lone separator colon.
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!V6_GROUP_RE.test(g)) return undefined;
      out.push(BigInt(parseInt(g, 16)));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  if (head === undefined) return undefined;
  if (halves.length === 2) {
    const rest = parseGroups(halves[1] ?? '');
    if (rest === undefined) return undefined;
    const fill = 8 - head.length - rest.length - tail.length;
    // "::" must stand for at least one group of zeros.
    if (fill < 1) return undefined;
    groups = [...head, ...Array<bigint>(fill).fill(0n), ...rest, ...tail];
  } else {
    groups = [...head, ...tail];
  }
  if (groups.length !== 8) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parse an IPv4 or IPv6 address; undefined when it is not one. */
export function parseIp(s: string): IpAddress | undefined {
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** Format an address the way Go prints it (RFC 5952 for IPv6: longest zero run compressed). */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((sh) => String((value >> sh) & 0xffn)).join('.');
  }
  return formatIpv6Groups(ipv6Groups(value));
}

/** Canonical text of an IP string, or undefined if it does not parse. */
export function canonicalIp(s: string): string | undefined {
  const ip = parseIp(s);
  return ip === undefined ? undefined : formatIp(ip.family, ip.value);
}

/** The CIDR with the given prefix that contains `value` (host bits cleared). */
export function cidrRange(family: IpFamily, value: bigint, prefixLength: number): CidrRange {
  const bits = familyBits(family);
  const hostBits = BigInt(bits - prefixLength);
  const first = (value >> hostBits) << hostBits;
  const last = first + (1n << hostBits) - 1n;
  return { family, first, last, prefixLength, cidr: `${formatIp(family, first)}/${prefixLength}` };
}

/** Parse `ip/len` (host bits allowed and cleared); undefined when invalid. */
export function parseCidr(s: string): CidrRange | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (ip === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > familyBits(ip.family)) return undefined;
  return cidrRange(ip.family, ip.value, len);
}

/** Number of bits needed to write `x` (0 for 0). */
function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * The minimal ordered list of CIDRs covering [first, last] (upstream's range summarisation,
 * e.g. 3.3.3.2-3.3.3.254 → /31,/30,/29,/28,/27,/26,/26,/27,/28,/29,/30,/31,/32).
 */
export function rangeToCidrs(family: IpFamily, first: bigint, last: bigint): CidrRange[] {
  const bits = familyBits(family);
  const out: CidrRange[] = [];
  let cur = first;
  while (cur <= last) {
    // Largest block aligned at `cur` (its trailing zero bits) that does not run past `last` (the
    // floor log2 of what is left), from two bit lengths rather than a loop over up to 128 sizes:
    // a 1,024-entry IPv6 pool of worst-case ranges is ~200k CIDRs, and the loop made it 5x slower.
    const size = Math.min(cur === 0n ? bits : bitLength(cur & -cur) - 1, bitLength(last - cur + 1n) - 1);
    const r = cidrRange(family, cur, bits - size);
    out.push(r);
    cur = r.last + 1n;
  }
  return out;
}

/** Result of parsing one `addresses` entry. */
export type AddressParse =
  | { readonly ok: true; readonly family: IpFamily | undefined; readonly cidrs: readonly CidrRange[] }
  | { readonly ok: false; readonly error: string };

/**
 * Parse a pool entry: a CIDR, or a range `start-end` split at the first `-` with each side
 * trimmed (§2.2). Errors are upstream's inner messages. A mixed-family range summarises to no
 * CIDRs and is accepted, matching upstream (QUIRK noted in the spec).
 */
export function parseAddressEntry(entry: string): AddressParse {
  const dash = entry.indexOf('-');
  if (dash < 0) {
    const c = parseCidr(entry);
    if (c === undefined) return { ok: false, error: `invalid CIDR "${entry}"` };
    return { ok: true, family: c.family, cidrs: [c] };
  }
  const s = entry.slice(0, dash).trim();
  const e = entry.slice(dash + 1).trim();
  const start = parseIp(s);
  if (start === undefined) return { ok: false, error: `invalid IP range "${entry}": invalid start IP "${s}"` };
  const end = parseIp(e);
  if (end === undefined) return { ok: false, error: `invalid IP range "${entry}": invalid end IP "${e}"` };
  if (start.family !== end.family) {
    // Upstream compares the 16-byte forms, where every IPv4 address sorts before IPv6 ones
    // except the ::ffff:0:0/96 block; the summary is then empty.
    const startBytes = start.family === 4 ? start.value | 0xffff00000000n : start.value;
    const endBytes = end.family === 4 ? end.value | 0xffff00000000n : end.value;
    if (startBytes > endBytes) {
      return { ok: false, error: `invalid IP range "${entry}": start IP "${s}" is after the end IP "${e}"` };
    }
    return { ok: true, family: undefined, cidrs: [] };
  }
  if (start.value > end.value) {
    return { ok: false, error: `invalid IP range "${entry}": start IP "${s}" is after the end IP "${e}"` };
  }
  return { ok: true, family: start.family, cidrs: rangeToCidrs(start.family, start.value, end.value) };
}

/** Two CIDRs overlap if they share any address (for CIDRs: equal, or one contains the other). */
export function cidrsOverlap(a: CidrRange, b: CidrRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** Is the address inside the CIDR? */
export function cidrContains(c: CidrRange, ip: IpAddress): boolean {
  return c.family === ip.family && c.first <= ip.value && ip.value <= c.last;
}
