/**
 * Go's `%q` verb, which upstream's controller uses for addresses and names in its Service
 * events and errors; we print the same so messages match upstream byte for byte.
 */
import { formatIp, type IpAddr } from '../net/ip';

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
