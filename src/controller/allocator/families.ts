/**
 * Address-family helpers of the allocator: upstream's family names for lists of addresses
 * (`internal/ipfamily`), per-pool candidates, and the family/policy selection of
 * docs/upstream-behaviour.md §3.5 C.3.
 */
import type { IpAddr, IpFamily } from '../../net/ip';
import { goQuoteList } from '../go-quote';
import type { PoolState } from './pool-state';
import { AllocErrorCode, IpFamilyPolicy, fail, ok, type AllocResult, type ServiceFamily } from './types';

/** Free candidates of one pool, at most one per family (upstream `Allocation`). */
export interface Candidates {
  readonly pool: PoolState;
  v4?: IpAddr;
  v6?: IpAddr;
}

/** The shared success value of checks that return nothing (no allocation per check). */
export const OK: AllocResult<undefined> = { ok: true, value: undefined };

/** Families to look for, as a bit mask (bit 1 = IPv4, bit 2 = IPv6): no array per lookup. */
export type FamilyMask = number;
export const MASK_V4 = 1;
export const MASK_V6 = 2;
export const MASK_BOTH = 3;

/** Mask bit of one family. */
export function familyBit(f: IpFamily): FamilyMask {
  return f === 4 ? MASK_V4 : MASK_V6;
}

/** Mask for a list of families. */
export function maskOf(families: readonly IpFamily[]): FamilyMask {
  let m = 0;
  for (const f of families) m |= familyBit(f);
  return m;
}

/** The candidate of one family, if found. */
export function candidateFor(c: Candidates, family: IpFamily): IpAddr | undefined {
  return family === 4 ? c.v4 : c.v6;
}

/** Family of a list of LB IPs as upstream's `ipfamily.ForAddresses` sees it. */
export function familyOfIps(ips: readonly IpAddr[]): AllocResult<ServiceFamily> {
  if (ips.length === 1) return ok((ips[0] as IpAddr).family === 4 ? 'ipv4' : 'ipv6');
  if (ips.length === 2) {
    if ((ips[0] as IpAddr).family === (ips[1] as IpAddr).family) {
      return fail(AllocErrorCode.SameFamily, `IPFamilyForAddresses: same address family ${goQuoteList(ips)}`);
    }
    return ok('dual');
  }
  return fail(AllocErrorCode.TooManyAddresses, `IPFamilyForAddresses: invalid ips length ${ips.length} ${goQuoteList(ips)}`);
}

/** Upstream `selectIPsForFamilyAndPolicy` as specified in docs/upstream-behaviour.md §3.5 C.3. */
export function selectIps(c: Candidates, family: ServiceFamily, policy: IpFamilyPolicy): AllocResult<IpAddr[]> {
  let ips: IpAddr[] | undefined;
  if (family === 'ipv4' && c.v4) ips = [c.v4];
  else if (family === 'ipv6' && c.v6) ips = [c.v6];
  else if (family === 'dual' && policy === IpFamilyPolicy.RequireDualStack && c.v4 && c.v6) ips = [c.v4, c.v6];
  else if (family === 'dual' && policy === IpFamilyPolicy.PreferDualStack) {
    const both = [c.v4, c.v6].filter((ip): ip is IpAddr => ip !== undefined);
    if (both.length > 0) ips = both;
  }
  if (ips === undefined) {
    return fail(AllocErrorCode.NoIpsForFamily, `no available IPs in pool ${c.pool.name} for ${family} IPFamily`);
  }
  return ok(ips);
}
