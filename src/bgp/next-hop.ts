/**
 * Next hops for our routes. Upstream uses the local TCP address for IPv4 (and has no IPv6).
 * We do the same per family, and take the other family's address from the same interface, so
 * one IPv4 session can carry IPv6 routes (and vice versa) with a reachable next hop. On an IPv6
 * session with a peer on one of the interface's subnets the link-local address is added (RFC
 * 2545 §3: "if and only if" the peers share a subnet), which FRR installs. Not to a peer
 * further away (an iBGP route reflector two hops off, which a single-hop test let through:
 * iBGP cannot set ebgpMultiHop), and not over IPv4 transport: FRR then cannot tell which
 * interface the link-local belongs to when it runs without zebra, and treats the whole MP_REACH
 * as malformed. A session over link-local addresses (an unnumbered `interface` peer) with no
 * global address on the link sends the link-local alone.
 */
import os from 'node:os';
import { cidrOf, parseCidr, rangeContains } from '../net/cidr';
import { parseIp, type IpAddr } from '../net/ip';

/** Interface addresses as os.networkInterfaces() reports them (injectable for tests). */
export type InterfaceTable = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/** Next hops per family; undefined when none is known (routes of that family are not sent). */
export interface NextHops {
  ipv4?: string;
  /** Global, then optional link-local. */
  ipv6?: string[];
}

/** The bare address: no IPv4-mapped prefix, no zone (`fe80::1%eth0` on a link-local socket). */
function stripMapped(a: string): string {
  const bare = a.split('%')[0]!;
  return bare.startsWith('::ffff:') && bare.includes('.') ? bare.slice(7) : bare;
}

/** fe80::/10, link-local unicast (RFC 4291 §2.5.6). */
const LINK_LOCAL = cidrOf(6, 0xfe80n << 112n, 10);
/** ::ffff:0:0/96, IPv4-mapped IPv6 (RFC 4291 §2.5.5.2). */
const V4_MAPPED = cidrOf(6, 0xffffn << 32n, 96);

/** True when the IPv6 peer is on one of these interface addresses' subnets (or link-local). */
function onSharedSubnet(peerAddress: string, addrs: readonly os.NetworkInterfaceInfo[]): boolean {
  const peer = parseIp(peerAddress.split('%')[0]!);
  if (peer?.family !== 6) return false;
  if (rangeContains(LINK_LOCAL, peer)) return true;
  return addrs.some((a) => {
    if (a.family !== 'IPv6' || !a.cidr) return false;
    const subnet = parseCidr(a.cidr);
    const own: IpAddr | undefined = parseIp(a.cidr.slice(0, a.cidr.indexOf('/')));
    if (subnet === undefined || own?.family !== 6) return false;
    return !rangeContains(V4_MAPPED, own) && !rangeContains(LINK_LOCAL, own) && rangeContains(subnet, peer);
  });
}

/**
 * Choose next hops given the connection's local address. Overrides win; then the local address
 * for its own family; then an address of the other family on the same interface.
 */
export function localNextHops(
  localAddress: string,
  peerAddress: string,
  opts: { nextHopIpv4?: string; nextHopIpv6?: string },
  interfaces: InterfaceTable = os.networkInterfaces(),
): NextHops {
  const local = stripMapped(localAddress);
  let ifaceAddrs: os.NetworkInterfaceInfo[] = [];
  for (const addrs of Object.values(interfaces)) {
    if (addrs?.some((a) => a.address === local)) {
      ifaceAddrs = addrs;
      break;
    }
  }
  const isV6 = local.includes(':');
  const ipv4 = opts.nextHopIpv4 ?? (isV6 ? ifaceAddrs.find((a) => a.family === 'IPv4' && !a.internal)?.address : local || undefined);
  const global6 =
    opts.nextHopIpv6 ??
    (isV6 && !local.toLowerCase().startsWith('fe80:') ? local : ifaceAddrs.find((a) => a.family === 'IPv6' && !a.address.toLowerCase().startsWith('fe80:') && !a.internal)?.address);
  let ipv6: string[] | undefined;
  const ll = ifaceAddrs.find((a) => a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:'));
  if (global6) {
    ipv6 = [global6];
    if (isV6 && ll && onSharedSubnet(peerAddress, ifaceAddrs)) ipv6.push(ll.address.split('%')[0]!);
  } else if (isV6 && local.toLowerCase().startsWith('fe80:')) {
    // An unnumbered session over a link with no global address: the link-local alone, as FRR
    // sends it (16 octets); the peer knows the interface from the session's own socket.
    ipv6 = [local];
  }
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}
