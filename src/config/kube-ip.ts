/**
 * Addresses and CIDRs as the apiserver's CEL `isIP`/`isCIDR` accept them
 * (k8s.io/apiserver/pkg/cel/library/ip.go and cidr.go): netip parsing, which refuses zones, and
 * no IPv4-mapped IPv6 address ("IPv4-mapped IPv6 address is not allowed"). The CRDs' rules use
 * these on 1.31 and later; the config parser applies the same test so that, on an older cluster
 * whose CRDs lack those rules, the same objects are refused with the same words.
 */
import { parseCidr } from '../net/cidr';
import { parseIp, type IpAddr } from '../net/ip';

/** True for ::ffff:a.b.c.d, which Go's netip calls Is4In6. */
function isIpv4Mapped(ip: IpAddr): boolean {
  return ip.family === 6 && ip.value >> 32n === 0xffffn;
}

/** The address `isIP(text)` accepts, or `undefined`. */
export function parseKubeIp(text: string): IpAddr | undefined {
  const ip = parseIp(text);
  return ip === undefined || isIpv4Mapped(ip) ? undefined : ip;
}

/** `isCIDR(text)`: a prefix whose address `isIP` accepts and whose length fits its family. */
export function isKubeCidr(text: string): boolean {
  const slash = text.indexOf('/');
  return slash >= 0 && parseKubeIp(text.slice(0, slash)) !== undefined && parseCidr(text) !== undefined;
}

/**
 * What the IPAddressPool CRD's address rules say about an entry the upstream-compatible parser
 * (net/cidr.ts parseAddressEntry) accepted, or `undefined` when they accept it too. The two
 * differ on IPv4-mapped IPv6 addresses and on a range whose ends are of different families
 * (upstream adds no address for it; the CRD refuses it). The words are the rules' messages.
 */
export function kubeAddressRefusal(entry: string): string | undefined {
  const dash = entry.indexOf('-');
  if (dash < 0) return isKubeCidr(entry) ? undefined : `invalid CIDR "${entry}"`;
  const rawStart = entry.slice(0, dash);
  const rawEnd = entry.slice(dash + 1);
  const start = parseKubeIp(rawStart.trim());
  if (start === undefined) return `invalid IP range "${entry}": invalid start IP "${rawStart}"`;
  const end = parseKubeIp(rawEnd.trim());
  if (end === undefined) return `invalid IP range "${entry}": invalid end IP "${rawEnd}"`;
  if (start.family !== end.family) {
    return `invalid IP range "${entry}": start IP "${rawStart.trim()}" and end IP "${rawEnd.trim()}" are not of the same IP family`;
  }
  return undefined;
}
