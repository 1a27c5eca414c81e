/**
 * Which address families a session carries, as upstream FRR mode activates them: a neighbor is
 * activated only in its own address's family (`address-family ipv4 unicast` for an IPv4 peer
 * address, `ipv6 unicast` for an IPv6 one), and in both with `dualStackAddressFamily`
 * (`internal/bgp/frr/frr.go` and the `activateNeighborFor` template function in
 * `internal/bgp/frr/config.go` of metallb/metallb). With `no bgp default ipv4-unicast` in
 * upstream's frr.tmpl, that is exactly the set of Multiprotocol capabilities (RFC 4760 §8) in the
 * OPEN, and only routes of those families go out. Pure.
 */
import { Afi, Safi } from './codec/types';
import type { Family } from './codec/types';

export const IPV4_UNICAST: Family = { afi: Afi.Ipv4, safi: Safi.Unicast };
export const IPV6_UNICAST: Family = { afi: Afi.Ipv6, safi: Safi.Unicast };
/** Both unicast families, IPv4 first (the OPEN's capability order). */
export const DUAL_STACK_FAMILIES: readonly Family[] = [IPV4_UNICAST, IPV6_UNICAST];

/** The unicast family of a peer address; an IPv4-mapped IPv6 address is IPv4, as Go's To4(). */
export function addressFamily(address: string): Family {
  const bare = address.toLowerCase();
  if (bare.startsWith('::ffff:') && bare.includes('.')) return IPV4_UNICAST;
  return bare.includes(':') ? IPV6_UNICAST : IPV4_UNICAST;
}

/** The families a session to `peerAddress` negotiates: its own, or both when dual-stack. */
export function sessionFamilies(peerAddress: string, dualStack: boolean): Family[] {
  return dualStack ? [...DUAL_STACK_FAMILIES] : [addressFamily(peerAddress)];
}
