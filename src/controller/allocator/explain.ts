/**
 * Human explanations for allocation failures: our answer to the silent `<pending>` and opaque
 * sharing rules users complain about (docs/upstream-behaviour.md §11.12). Upstream says only
 * "no available IPs"; we keep that text and add, pool by pool, why each was not usable.
 * Computed only on failure, so it costs nothing on the hot path.
 */
import type { Pool } from '../../config/types';
import { matches } from '../../config/selectors';
import { formatIp, isBuggyIp, type IpAddr, type IpFamily } from '../../net/ip';
import { goQuote } from '../go-quote';
import type { Allocator } from './allocator';
import type { PoolState } from './pool-state';
import { IpFamilyPolicy, type AllocRequest } from './types';

/** Whether a pool's serviceAllocation admits a Service (upstream `isPoolCompatibleWithService`). */
export type Compatibility = { readonly ok: true } | { readonly ok: false; readonly reason: string };

function labelsText(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? 'none' : keys.map((k) => `${k}=${labels[k]}`).join(',');
}

const COMPATIBLE: Compatibility = { ok: true };

/** Upstream `isPoolCompatibleWithService`, with the reason when it says no. */
export function poolCompatibility(pool: Pool, req: AllocRequest): Compatibility {
  const sa = pool.serviceAllocation;
  if (sa === undefined) return COMPATIBLE;
  if (sa.namespaces.size > 0 && !sa.namespaces.has(req.namespace)) {
    return {
      ok: false,
      reason: `pool ${pool.name} is reserved for namespaces [${[...sa.namespaces].sort().join(' ')}], the service is in ${goQuote(req.namespace)}`,
    };
  }
  if (sa.serviceSelectors.length > 0 && !sa.serviceSelectors.some((s) => matches(s, req.labels))) {
    return {
      ok: false,
      reason: `pool ${pool.name} serviceSelectors [${sa.serviceSelectors.map((s) => goQuote(s.text)).join(' ')}] do not match the service labels (${labelsText(req.labels)})`,
    };
  }
  return COMPATIBLE;
}

function familyName(f: IpFamily): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

/** Families a request could be served from (any one of them for PreferDualStack). */
function wantedFamilies(req: AllocRequest): IpFamily[] {
  if (req.family === 'ipv4') return [4];
  if (req.family === 'ipv6') return [6];
  return [4, 6];
}

/** Why a pool that admits the Service yields nothing for the given families. */
export function explainPoolFailure(a: Allocator, ps: PoolState, req: AllocRequest, families: readonly IpFamily[]): string {
  const parts: string[] = [];
  for (const f of families) {
    if (!ps.families.has(f)) {
      parts.push(`has no usable ${familyName(f)} addresses`);
      continue;
    }
    const cap = f === 4 ? ps.capacity.v4 : ps.capacity.v6;
    const inUse = ps.inUse(f);
    let text = inUse >= cap ? `all ${cap} usable ${familyName(f)} addresses are in use` : `no ${familyName(f)} address is free for this service (${inUse} of ${cap} in use)`;
    if (req.sharingKey !== '') {
      const shared: bigint[] = [];
      for (const r of ps.ranges) {
        if (r.family === f && shared.length === 0) shared.push(...a.sharedAddresses(req.sharingKey, f, r.first, r.last, 1));
      }
      const first = shared[0];
      if (first === undefined) text += `, none under sharing key ${goQuote(req.sharingKey)}`;
      else {
        const why = a.sharingRefusal(req, { family: f, value: first });
        text += `; ${formatIp({ family: f, value: first })} carries sharing key ${goQuote(req.sharingKey)} but ${why ?? 'was refused'}`;
      }
    }
    parts.push(text);
  }
  if (req.family === 'dual' && req.policy === IpFamilyPolicy.RequireDualStack) parts.push('RequireDualStack needs one free IPv4 and one free IPv6 address in the same pool');
  return parts.join('; ');
}

/** Why automatic allocation failed, pool by pool in the order they were tried. */
export function explainAutoFailure(a: Allocator, req: AllocRequest): string {
  const states = a.poolStates();
  if (states.length === 0) return 'no IPAddressPool is configured';
  const pinned = a.pinnedPools(req);
  const pinnedNames = new Set(pinned.map((p) => p.name));
  const tried = [...pinned, ...a.genericPoolList()];
  const verdicts: string[] = [];
  for (const ps of [...tried, ...states.filter((s) => !tried.includes(s))]) {
    const pool = ps.pool;
    let why: string;
    if (!pool.autoAssign) {
      why = 'autoAssign is false, so only the metallb.io/address-pool annotation or an explicit IP can use it';
    } else if (pool.serviceAllocation !== undefined && !pinnedNames.has(ps.name)) {
      const compat = poolCompatibility(pool, req);
      why = compat.ok ? 'its serviceAllocation selects no namespace or service, so only an explicit request can use it' : compat.reason;
    } else {
      why = explainPoolFailure(a, ps, req, wantedFamilies(req));
    }
    verdicts.push(`pool ${ps.name}: ${why}`);
  }
  const order = tried.length === 0 ? 'no pool is eligible for automatic allocation' : `tried ${tried.map((p) => p.name).join(', ')}`;
  return `${order}; ${verdicts.join('; ')}`;
}

/** Where each address of a rejected explicit request lies, in words. */
export function notInConfigDetail(a: Allocator, ips: readonly IpAddr[]): string {
  if (ips.length === 0) return 'no address given';
  const parts = ips.map((ip) => {
    for (const ps of a.poolStates()) {
      const inRange = ps.ranges.some((r) => r.family === ip.family && ip.value >= r.first && ip.value <= r.last);
      if (inRange && ps.pool.avoidBuggyIPs && isBuggyIp(ip)) return `${formatIp(ip)} is in pool ${ps.name} but that pool avoids .0 and .255 addresses (avoidBuggyIPs)`;
      if (inRange) return `${formatIp(ip)} is in pool ${ps.name}`;
    }
    return `${formatIp(ip)} is in no pool`;
  });
  if (ips.length === 2 && parts.every((p) => p.includes(' is in pool '))) parts.push('both addresses must come from the same pool');
  return parts.join('; ');
}
