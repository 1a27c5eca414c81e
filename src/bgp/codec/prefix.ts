/**
 * Addresses and NLRI prefixes (RFC 4271 §4.3: <length octet><ceil(length/8) octets>). Parsing and
 * formatting are hand-written because they run once per prefix on the hot path (the codec
 * benchmark asks for 500k prefixes/s); IPv6 text follows RFC 5952 so decoded prefixes compare
 * equal to what callers wrote.
 */
import { BgpError } from '../errors';
import { ErrorCode, MetalLbError } from '../../util/errors';
import { Afi } from './types';
import type { Writer } from './writer';

/** Parse dotted-quad IPv4 into an unsigned 32-bit number; undefined when malformed. */
export function parseIpv4(s: string, start = 0, end = s.length): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // Leading zeros are rejected: '010' is octal to some parsers and decimal to others.
      if (digits > 0 && octet === 0) return undefined;
      octet = octet * 10 + (c - 48);
      if (octet > 255 || ++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + octet;
}

/** Format an unsigned 32-bit number as dotted-quad. */
export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function hexGroup(s: string, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > 4) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Parse groups of s[start..end) separated by ':' into `groups`; returns the count or -1. */
function parseGroups(s: string, start: number, end: number, groups: number[], allowV4Tail: boolean): number {
  if (start === end) return 0;
  let count = 0;
  let g = start;
  for (let i = start; i <= end; i++) {
    if (i === end || s.charCodeAt(i) === 58 /* : */) {
      if (i === end && allowV4Tail && s.indexOf('.', g) !== -1 && s.indexOf('.', g) < end) {
        const v4 = parseIpv4(s, g, end);
        if (v4 === undefined) return -1;
        groups.push(v4 >>> 16, v4 & 0xffff);
        return count + 2;
      }
      const v = hexGroup(s, g, i);
      if (v < 0) return -1;
      groups.push(v);
      count++;
      g = i + 1;
    }
  }
  return count;
}

/** Parse IPv6 text into 16 bytes at `out[off]`; false when malformed. */
export function parseIpv6(s: string, out: Uint8Array, off: number, start = 0, end = s.length): boolean {
  const dbl = s.indexOf('::', start);
  const hasDbl = dbl !== -1 && dbl < end;
  const head: number[] = [];
  const tail: number[] = [];
  if (hasDbl) {
    const again = s.indexOf('::', dbl + 1);
    if (again !== -1 && again < end) return false;
    if (parseGroups(s, start, dbl, head, false) < 0) return false;
    if (parseGroups(s, dbl + 2, end, tail, true) < 0) return false;
    if (head.length + tail.length > 7) return false;
  } else {
    if (parseGroups(s, start, end, head, true) !== 8) return false;
  }
  out.fill(0, off, off + 16);
  for (let i = 0; i < head.length; i++) {
    out[off + 2 * i] = head[i]! >>> 8;
    out[off + 2 * i + 1] = head[i]! & 0xff;
  }
  const tailAt = 8 - tail.length;
  for (let i = 0; i < tail.length; i++) {
    out[off + 2 * (tailAt + i)] = tail[i]! >>> 8;
    out[off + 2 * (tailAt + i) + 1] = tail[i]! & 0xff;
  }
  return true;
}

/** Format 16 bytes as RFC 5952 text (lower case, longest zero run of 2+ groups as '::'). */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestAt < 0) return g.map((x) => x.toString(16)).join(':');
  const left = g.slice(0, bestAt).map((x) => x.toString(16)).join(':');
  const right = g.slice(bestAt + bestLen).map((x) => x.toString(16)).join(':');
  return `${left}::${right}`;
}

/** Which family a prefix or address string belongs to (by the presence of ':'). */
export function afiOf(prefixOrAddress: string): number {
  return prefixOrAddress.includes(':') ? Afi.Ipv6 : Afi.Ipv4;
}

function badPrefix(prefix: string): MetalLbError {
  return new MetalLbError(ErrorCode.BadAddress, `invalid prefix ${JSON.stringify(prefix)}`, { prefix });
}

const scratch16 = (): Uint8Array => new Uint8Array(16);

/**
 * Append one prefix in NLRI form. Host bits beyond the length are not written, so
 * '10.0.0.1/24' goes out as 10.0.0.0/24.
 */
export function writePrefix(w: Writer, prefix: string, afi: number, tmp: Uint8Array = scratch16()): void {
  const slash = prefix.indexOf('/');
  if (slash < 0) throw badPrefix(prefix);
  let len = 0;
  for (let i = slash + 1; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c < 48 || c > 57 || i - slash > 3) throw badPrefix(prefix);
    len = len * 10 + (c - 48);
  }
  if (slash + 1 === prefix.length) throw badPrefix(prefix);
  const nbytes = (len + 7) >>> 3;
  if (afi === Afi.Ipv4) {
    const v = parseIpv4(prefix, 0, slash);
    if (v === undefined || len > 32) throw badPrefix(prefix);
    w.ensure(1 + nbytes);
    const buf = w.raw();
    let at = w.length;
    buf[at++] = len;
    for (let i = 0; i < nbytes; i++) buf[at++] = (v >>> (24 - 8 * i)) & 0xff;
    if (len & 7) buf[at - 1]! &= (0xff << (8 - (len & 7))) & 0xff;
    w.length = at;
    return;
  }
  if (afi !== Afi.Ipv6 || len > 128 || !parseIpv6(prefix, tmp, 0, 0, slash)) throw badPrefix(prefix);
  w.ensure(1 + nbytes);
  const buf = w.raw();
  let at = w.length;
  buf[at++] = len;
  for (let i = 0; i < nbytes; i++) buf[at++] = tmp[i]!;
  if (len & 7) buf[at - 1]! &= (0xff << (8 - (len & 7))) & 0xff;
  w.length = at;
}

/** Bytes a prefix takes in NLRI form (for packing UPDATEs without encoding them). */
export function prefixWireLength(prefix: string): number {
  const slash = prefix.lastIndexOf('/');
  const len = Number(prefix.slice(slash + 1));
  return 1 + ((len + 7) >>> 3);
}

/**
 * Read a run of NLRI prefixes from buf[start..end). Errors are reported with the caller's
 * code/subcode because the same layout is an Invalid Network Field in the UPDATE body but an
 * Optional Attribute Error inside MP_REACH/MP_UNREACH.
 */
export function readPrefixes(
  buf: Buffer,
  start: number,
  end: number,
  afi: number,
  code: number,
  subcode: number,
): string[] {
  const out: string[] = [];
  const max = afi === Afi.Ipv4 ? 32 : 128;
  const tmp = afi === Afi.Ipv6 ? new Uint8Array(16) : undefined;
  let at = start;
  while (at < end) {
    const len = buf[at]!;
    if (len > max) throw new BgpError(code, subcode, `prefix length ${len} exceeds ${max}`);
    const nbytes = (len + 7) >>> 3;
    if (at + 1 + nbytes > end) throw new BgpError(code, subcode, `prefix of length ${len} truncated`);
    const mask = len & 7 ? (0xff << (8 - (len & 7))) & 0xff : 0xff;
    if (tmp === undefined) {
      let v = 0;
      for (let i = 0; i < 4; i++) {
        let octet = i < nbytes ? buf[at + 1 + i]! : 0;
        if (i === nbytes - 1) octet &= mask;
        v = v * 256 + octet;
      }
      out.push(`${formatIpv4(v)}/${len}`);
    } else {
      tmp.fill(0);
      for (let i = 0; i < nbytes; i++) tmp[i] = buf[at + 1 + i]!;
      if (nbytes > 0) tmp[nbytes - 1]! &= mask;
      out.push(`${formatIpv6(tmp)}/${len}`);
    }
    at += 1 + nbytes;
  }
  return out;
}

/**
 * The canonical text of a prefix (host bits cleared, RFC 5952 for IPv6), or undefined when it
 * is not a valid prefix. Canonical keys make '10.0.0.1/24' and '10.0.0.0/24' the same route.
 */
export function canonicalPrefix(prefix: string): string | undefined {
  const slash = prefix.indexOf('/');
  if (slash < 0) return undefined;
  let len = 0;
  if (slash + 1 === prefix.length || prefix.length - slash > 4) return undefined;
  for (let i = slash + 1; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    len = len * 10 + (c - 48);
  }
  if (prefix.indexOf(':') < 0) {
    const v = parseIpv4(prefix, 0, slash);
    if (v === undefined || len > 32) return undefined;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const masked = (v & mask) >>> 0;
    // Already canonical (the common case): return the caller's string, no allocation.
    if (masked === v) return prefix;
    return `${formatIpv4(masked)}/${len}`;
  }
  const b = new Uint8Array(16);
  if (len > 128 || !parseIpv6(prefix, b, 0, 0, slash)) return undefined;
  for (let i = 0; i < 16; i++) {
    const bits = Math.min(8, Math.max(0, len - 8 * i));
    b[i]! &= (0xff << (8 - bits)) & 0xff;
  }
  return `${formatIpv6(b)}/${len}`;
}
