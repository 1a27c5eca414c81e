/**
 * CIDRs and address ranges as inclusive BigInt intervals, so a /48 costs the same as a /32.
 * `ip/len` parsing follows Go's `net.ParseCIDR`, which upstream's pool parser (`parseCIDR` in
 * `internal/config/config.go`) calls, and is strict: no whitespace, no bare IP, no leading zero
 * in the length (`/08`), and the family is the one the address was written in
 * (`::ffff:1.2.3.0/120` is an IPv6 CIDR).
 */
import { familyBits, formatIp, parseIp, type IpAddr, type IpFamily } from './ip';

/** An inclusive range of addresses of one family. */
export interface IpRange {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

/**
 * A CIDR as an inclusive range (`first` is the network address, host bits cleared) plus its
 * prefix length and its normalised text, as upstream prints it in errors and status.
 */
export interface IpCidr extends IpRange {
  readonly prefixLength: number;
  readonly cidr: string;
}

/** The CIDR of `prefixLength` bits that contains `value` (host bits cleared). */
export function cidrOf(family: IpFamily, value: bigint, prefixLength: number): IpCidr {
  const hostBits = BigInt(familyBits(family) - prefixLength);
  const first = (value >> hostBits) << hostBits;
  const last = first + (1n << hostBits) - 1n;
  return { family, first, last, prefixLength, cidr: `${formatIp({ family, value: first })}/${prefixLength}` };
}

const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/;

/** Parse `ip/len` (host bits allowed and cleared); undefined when invalid. */
export function parseCidr(text: string): IpCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !PREFIX_LENGTH.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  if (prefixLength > familyBits(ip.family)) return undefined;
  return cidrOf(ip.family, ip.value, prefixLength);
}

/** Number of bits needed to write `x` (0 for 0). */
function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * The minimal ordered list of CIDRs covering a range (upstream's range summarisation,
 * e.g. 3.3.3.2-3.3.3.254 → /31,/30,/29,/28,/27,/26,/26,/27,/28,/29,/30,/31,/32).
 */
export function rangeToCidrs(range: IpRange): IpCidr[] {
  const { family, first, last } = range;
  const bits = familyBits(family);
  const out: IpCidr[] = [];
  let cur = first;
  while (cur <= last) {
    // Largest block aligned at `cur` (its trailing zero bits) that does not run past `last` (the
    // floor log2 of what is left), from two bit lengths rather than a loop over up to 128 sizes:
    // a 1,024-entry IPv6 pool of worst-case ranges is ~200k CIDRs, and the loop made it 5x slower.
    const size = Math.min(cur === 0n ? bits : bitLength(cur & -cur) - 1, bitLength(last - cur + 1n) - 1);
    const c = cidrOf(family, cur, bits - size);
    out.push(c);
    cur = c.last + 1n;
  }
  return out;
}

/** True if `ip` lies in `range` (same family, inclusive bounds). */
export function rangeContains(range: IpRange, ip: IpAddr): boolean {
  return range.family === ip.family && range.first <= ip.value && ip.value <= range.last;
}

/** Two ranges overlap if they share any address (for CIDRs: equal, or one contains the other). */
export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** Result of parsing one pool `addresses` entry. */
export type AddressParse =
  | { readonly ok: true; readonly family: IpFamily | undefined; readonly cidrs: readonly IpCidr[] }
  | { readonly ok: false; readonly error: string };

/**
 * Parse a pool entry as upstream's `parseCIDR` (`internal/config/config.go`) does: a CIDR, or a
 * range `start-end` split at the first `-` with each side trimmed. Errors are upstream's inner
 * messages. A mixed-family range summarises to no CIDRs and is accepted, as upstream does.
 */
export function parseAddressEntry(entry: string): AddressParse {
  const dash = entry.indexOf('-');
  if (dash < 0) {
    const c = parseCidr(entry);
    if (c === undefined) return { ok: false, error: `invalid CIDR "${entry}"` };
    return { ok: true, family: c.family, cidrs: [c] };
  }
  const rawStart = entry.slice(0, dash);
  const rawEnd = entry.slice(dash + 1);
  const s = rawStart.trim();
  const e = rawEnd.trim();
  // Upstream's ParseCIDR quotes the untrimmed halves here (and the CRD rule does the same).
  const start = parseIp(s);
  if (start === undefined) return { ok: false, error: `invalid IP range "${entry}": invalid start IP "${rawStart}"` };
  const end = parseIp(e);
  if (end === undefined) return { ok: false, error: `invalid IP range "${entry}": invalid end IP "${rawEnd}"` };
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
  return { ok: true, family: start.family, cidrs: rangeToCidrs({ family: start.family, first: start.value, last: end.value }) };
}
