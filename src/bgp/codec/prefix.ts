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

/**
 * Parse IPv6 text into 16 bytes at `out[off]`; false when malformed. One pass over the
 * characters (this runs once per encoded IPv6 prefix), accepting '::' once and an IPv4 tail.
 */
export function parseIpv6(s: string, out: Uint8Array, off: number, start = 0, end = s.length): boolean {
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  let n = 0;
  let gap = -1;
  let i = start;
  if (end - start < 2) return false;
  if (s.charCodeAt(i) === 58 /* : */) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    let v = 0;
    let digits = 0;
    let j = i;
    for (; j < end; j++) {
      const c = s.charCodeAt(j);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      v = v * 16 + d;
      digits++;
    }
    if (j < end && s.charCodeAt(j) === 46 /* . */) {
      // Dotted IPv4 in the last 32 bits (RFC 4291 §2.2 form 3).
      const v4 = parseIpv4(s, i, end);
      if (v4 === undefined || n > 6) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || digits > 4 || n >= 8) return false;
    groups[n++] = v;
    if (j === end) break;
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < end && s.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = n;
      j++;
    } else if (j === end) {
      return false;
    }
    i = j;
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  out.fill(0, off, off + 16);
  const head = gap < 0 ? n : gap;
  for (let k = 0; k < head; k++) {
    out[off + 2 * k] = groups[k]! >>> 8;
    out[off + 2 * k + 1] = groups[k]! & 0xff;
  }
  const tail = n - head;
  for (let k = 0; k < tail; k++) {
    const at = off + 2 * (8 - tail + k);
    out[at] = groups[head + k]! >>> 8;
    out[at + 1] = groups[head + k]! & 0xff;
  }
  return true;
}

/** Format 16 bytes as RFC 5952 text (lower case, longest zero run of 2+ groups as '::'). */
export function formatIpv6(b: Uint8Array, off = 0): string {
  // Hand-rolled (no arrays, no join): this runs once per decoded IPv6 prefix.
  let bestAt = -1;
  let bestLen = 1;
  let runAt = -1;
  for (let i = 0; i < 8; i++) {
    const zero = b[off + 2 * i] === 0 && b[off + 2 * i + 1] === 0;
    if (zero) {
      if (runAt < 0) runAt = i;
      if (i - runAt + 1 > bestLen) {
        bestAt = runAt;
        bestLen = i - runAt + 1;
      }
    } else {
      runAt = -1;
    }
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += ((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!).toString(16);
  }
  return out;
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
