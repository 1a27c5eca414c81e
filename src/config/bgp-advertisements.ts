/**
 * BGPAdvertisement parsing, community resolution and upstream's per-pool checks
 * (docs/upstream-behaviour.md §2.6). Unlike upstream native mode, IPv6 pools and large communities
 * are allowed: our speaker does MP-BGP (RFC 4760) and RFC 8092.
 */
import { type AdCommon, readAdCommon } from './ad-common';
import { compareCommunities, looksLikeLiteralCommunity, parseCommunity } from './communities';
import type { Issues, Meta } from './issues';
import type { PoolDraft } from './pools';
import { sortSelectors } from './selector-list';
import { type BgpAdvertisement, type Community, ConfigKind } from './types';

const UINT32_MAX = 4294967295;

function resolveCommunities(c: AdCommon, aliases: ReadonlyMap<string, Community>): Community[] {
  const raw = c.r.stringList('communities');
  c.r.noDuplicates('communities', raw, (v) => `duplicate definition of community "${v}"`);
  const out: Community[] = [];
  raw.forEach((s, i) => {
    const alias = aliases.get(s);
    if (alias) {
      out.push(alias);
      return;
    }
    const p = parseCommunity(s);
    if (!p.ok) {
      // Not A:B nor large:G:L1:L2 may be an alias whose Community object is not there yet.
      const transient = !looksLikeLiteralCommunity(s);
      const hint = transient ? ' (not a Community alias either)' : '';
      c.r.error(`communities[${i}]`, `invalid community "${s}" in BGP advertisement: ${p.error}${hint}`, transient);
      return;
    }
    out.push(p.community);
  });
  return out.sort(compareCommunities);
}

function readAggregation(c: AdCommon, field: string, dflt: number, min: number, max: number, family: string): number {
  const v = c.r.spec[field];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    c.r.error(field, `spec.${field} must be an integer, got ${JSON.stringify(v)}`);
    return dflt;
  }
  if (v < min || v > max) {
    c.r.error(field, `invalid aggregation length ${v} for ${family}`);
    return dflt;
  }
  return v;
}

function poolFamilies(pool: PoolDraft): { v4: boolean; v6: boolean } {
  return { v4: pool.cidrs.some((c) => c.family === 4), v6: pool.cidrs.some((c) => c.family === 6) };
}

function disjoint<T>(a: Iterable<T>, b: ReadonlySet<T>): boolean {
  for (const x of a) if (b.has(x)) return false;
  return true;
}

/**
 * Could two ads announce from a common node? With Node objects known this is exact; offline
 * (`validate` without Nodes) we only claim an overlap when it is certain: one of them selects
 * every node or both use an identical selector.
 */
function nodesDisjoint(a: BgpAdvertisement, b: BgpAdvertisement, nodesKnown: boolean): boolean {
  if (nodesKnown) return disjoint(a.nodes, b.nodes);
  if (a.nodeSelectors.length === 0 || b.nodeSelectors.length === 0) return false;
  const texts = new Set(a.nodeSelectors.map((s) => s.text));
  return b.nodeSelectors.every((s) => !texts.has(s.text));
}

/** Upstream's LOCAL_PREF compatibility (§2.6 per-pool check 2). */
function compatible(a: BgpAdvertisement, b: BgpAdvertisement, pool: PoolDraft, nodesKnown: boolean): boolean {
  if (a.localPref === b.localPref) return true;
  const f = poolFamilies(pool);
  if (!f.v4 && !f.v6) return true;
  const v4Differs = a.aggregationLength !== b.aggregationLength;
  const v6Differs = a.aggregationLengthV6 !== b.aggregationLengthV6;
  if (f.v4 && f.v6 ? v4Differs && v6Differs : f.v4 ? v4Differs : v6Differs) return true;
  if (a.peers.length > 0 && b.peers.length > 0 && disjoint(a.peers, new Set(b.peers))) return true;
  return nodesDisjoint(a, b, nodesKnown);
}

/** §2.6 per-pool checks; returns the errors for attaching `ad` to `pool`. */
function perPoolErrors(ad: BgpAdvertisement, pool: PoolDraft, nodesKnown: boolean): string[] {
  const errors: string[] = [];
  for (const entry of pool.addresses) {
    if (entry.family === undefined || entry.cidrs.length === 0) continue;
    const widest = Math.min(...entry.cidrs.map((c) => c.prefixLength));
    const agg = entry.family === 4 ? ad.aggregationLength : ad.aggregationLengthV6;
    if (agg < widest) {
      errors.push(
        `invalid aggregation length ${agg}: prefix ${widest} in this pool is more specific than the aggregation length for addresses ${entry.raw}`,
      );
    }
  }
  if (ad.serviceSelectors.length === 0) {
    for (const existing of pool.bgpAdvertisements) {
      if (existing.serviceSelectors.length > 0 || compatible(ad, existing, pool, nodesKnown)) continue;
      // "preferernce" (sic) is upstream's spelling; tools grep for this message.
      errors.push(
        `invalid local preference ${ad.localPref}: local preferernce ${existing.localPref} was already set for the same type of BGP update. Check existing BGP advertisements with common pools and aggregation lengths`,
      );
    }
  }
  return errors;
}

/** Parse BGPAdvertisements (sorted by name), run the per-pool checks and attach them. */
export function parseBgpAdvertisements(
  raws: readonly unknown[],
  issues: Issues,
  pools: ReadonlyMap<string, PoolDraft>,
  nodes: readonly Meta[],
  aliases: ReadonlyMap<string, Community>,
  peerNames: ReadonlySet<string>,
): BgpAdvertisement[] {
  const out: BgpAdvertisement[] = [];
  for (const raw of raws) {
    const c = readAdCommon(raw, ConfigKind.BGPAdvertisement, issues, pools, nodes);
    const aggregationLength = readAggregation(c, 'aggregationLength', 32, 1, 32, 'IPv4');
    const aggregationLengthV6 = readAggregation(c, 'aggregationLengthV6', 128, 0, 128, 'IPv6');
    if (c.serviceSelectors.length > 0) {
      const name = c.meta.name;
      if (aggregationLength !== 32) {
        c.r.error('aggregationLength', `serviceSelectors and aggregationLength are mutually exclusive, both cannot be set in ${name}`);
      }
      if (aggregationLengthV6 !== 128) {
        c.r.error('aggregationLengthV6', `serviceSelectors and aggregationLengthV6 are mutually exclusive, both cannot be set in ${name}`);
      }
    }
    const peers = c.r.stringList('peers');
    c.r.noDuplicates('peers', peers, (v) => `duplicate definition of peers "${v}"`);
    for (const p of new Set(peers)) {
      // Upstream: unknown names silently match nothing (§10.16).
      if (!peerNames.has(p)) issues.warn(c.r.ref, 'spec.peers', `peers references BGPPeer "${p}" which does not exist`);
    }
    const ad: BgpAdvertisement = {
      name: c.meta.name,
      pools: c.pools,
      aggregationLength,
      aggregationLengthV6,
      localPref: c.r.int('localPref', 0, UINT32_MAX) ?? 0,
      communities: resolveCommunities(c, aliases),
      peers,
      nodeSelectors: c.nodeSelectors,
      nodes: c.nodes,
      serviceSelectors: sortSelectors(c.serviceSelectors),
    };
    out.push(ad);
    for (const name of ad.pools) {
      const pool = pools.get(name);
      if (!pool) continue;
      const errs = perPoolErrors(ad, pool, nodes.length > 0);
      for (const e of errs) c.r.error(e.startsWith('invalid local') ? 'localPref' : 'aggregationLength', e);
      if (errs.length === 0) pool.bgpAdvertisements.push(ad);
    }
  }
  return out;
}
