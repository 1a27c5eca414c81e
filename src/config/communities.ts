/**
 * BGP community strings (docs/upstream-behaviour.md §2.7): RFC 1997 `A:B` with 16-bit halves and
 * RFC 8092 large communities written `large:G:L1:L2` with 32-bit parts. Extended communities and
 * the old single-number form are not accepted, as upstream.
 */
import { type Community, CommunityKind } from './types';

/** Result of parsing a community string. */
export type CommunityParse =
  | { readonly ok: true; readonly community: Community }
  | { readonly ok: false; readonly error: string };

const DECIMAL_RE = /^[0-9]+$/;

function parseUint(section: string, max: number): number | undefined {
  // Go's strconv.ParseUint(s, 10, n) accepts only decimal digits, leading zeros allowed.
  if (!DECIMAL_RE.test(section)) return undefined;
  const n = Number(section);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

function sectionError(section: string, c: string): string {
  const why = DECIMAL_RE.test(section) ? 'value out of range' : 'invalid syntax';
  return `invalid community value: invalid section "${section}" of community "${c}", err: strconv.ParseUint: parsing "${section}": ${why}`;
}

/** Parse `A:B` or `large:G:L1:L2`; errors are upstream's messages. */
export function parseCommunity(c: string): CommunityParse {
  const fields = c.split(':');
  if (fields.length === 2) {
    const [a = '', b = ''] = fields;
    const hi = parseUint(a, 0xffff);
    if (hi === undefined) return { ok: false, error: sectionError(a, c) };
    const lo = parseUint(b, 0xffff);
    if (lo === undefined) return { ok: false, error: sectionError(b, c) };
    return { ok: true, community: { kind: CommunityKind.Standard, value: hi * 0x10000 + lo } };
  }
  if (fields.length === 4) {
    const [marker, g = '', l1 = '', l2 = ''] = fields;
    if (marker !== 'large') {
      return {
        ok: false,
        error: `invalid community value: invalid marker for large community, expected community to be of format large:<uint32>:<uint32>:<uint32> but got "${c}" instead`,
      };
    }
    const parts: number[] = [];
    for (const f of [g, l1, l2]) {
      const n = parseUint(f, 0xffffffff);
      if (n === undefined) return { ok: false, error: sectionError(f, c) };
      parts.push(n);
    }
    const [globalAdmin = 0, localData1 = 0, localData2 = 0] = parts;
    return { ok: true, community: { kind: CommunityKind.Large, globalAdmin, localData1, localData2 } };
  }
  return { ok: false, error: `invalid community format: ${c}` };
}

/** Would upstream's parser treat this as a literal (2 or 4 fields) rather than an alias name? */
export function looksLikeLiteralCommunity(c: string): boolean {
  const n = c.split(':').length;
  return n === 2 || n === 4;
}

/** Upstream's string form: `A:B` for standard, `G:L1:L2` (no `large:` prefix) for large. */
export function communityText(c: Community): string {
  if (c.kind === CommunityKind.Standard) return `${Math.floor(c.value / 0x10000)}:${c.value % 0x10000}`;
  return `${c.globalAdmin}:${c.localData1}:${c.localData2}`;
}

function triple(c: Community): [number, number, number] {
  return c.kind === CommunityKind.Standard ? [c.value, 0, 0] : [c.globalAdmin, c.localData1, c.localData2];
}

/**
 * Upstream's order: a standard community sorts as the large triple (A<<16|B, 0, 0); compare
 * lexicographically. Used so attribute encoding is deterministic.
 */
export function compareCommunities(a: Community, b: Community): number {
  const ta = triple(a);
  const tb = triple(b);
  for (let i = 0; i < 3; i++) {
    const d = (ta[i] ?? 0) - (tb[i] ?? 0);
    if (d !== 0) return d;
  }
  // Same triple: keep standard before large so the order is total.
  return a.kind === b.kind ? 0 : a.kind === CommunityKind.Standard ? -1 : 1;
}

/** Structural equality of two communities. */
export function communityEquals(a: Community, b: Community): boolean {
  return compareCommunities(a, b) === 0;
}
