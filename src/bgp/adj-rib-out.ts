/**
 * Adj-RIB-out (RFC 4271 §3.2) for one peer, as pure functions: the desired routes
 * (prefix -> attributes) against what the peer already has give the fewest UPDATEs that bring
 * the peer in line. Routes sharing attributes are packed into one UPDATE up to 4096 octets and
 * withdrawals are packed too; upstream's native speaker sends one UPDATE per prefix.
 */
import { encode } from './codec';
import { canonicalPrefix, afiOf, prefixWireLength } from './codec/prefix';
import { Afi, AsPathSegmentType, MAX_MESSAGE_LENGTH, MessageType, Origin } from './codec/types';
import type { Family, LargeCommunity, PathAttributes, UpdateMessage } from './codec/types';
import { endOfRib } from './codec/end-of-rib';

/** Per-route attributes the speaker chooses (the rest comes from the session). */
export interface RouteAttributes {
  /** Sent to iBGP peers only (RFC 4271 §5.1.5); default 100 there. */
  localPref?: number;
  med?: number;
  communities?: number[];
  largeCommunities?: LargeCommunity[];
}

/** What the session knows when turning routes into UPDATEs. */
export interface RibContext {
  /** Negotiated families; routes of other families are not sent. */
  families: Family[];
  localAsn: number;
  ibgp: boolean;
  fourOctetAs: boolean;
  /** NEXT_HOP for IPv4 routes; without one IPv4 routes are not sent. */
  nextHopIpv4?: string;
  /** Global then optional link-local next hop for IPv6 routes (RFC 2545 §3). */
  nextHopsIpv6?: string[];
  /**
   * Extended Next Hop was negotiated (RFC 8950): IPv4 routes go in MP_REACH_NLRI with the IPv6
   * next hops instead of a NEXT_HOP, as FRR sends them to an unnumbered peer.
   */
  ipv4ViaIpv6?: boolean;
}

/** IPv4 routes carry IPv6 next hops in this context (RFC 8950 negotiated and an IPv6 next hop known). */
function ipv4OverIpv6(ctx: RibContext): boolean {
  return ctx.ipv4ViaIpv6 === true && (ctx.nextHopsIpv6?.length ?? 0) > 0;
}

/** What the peer has: canonical prefix -> attribute key. */
export type Advertised = ReadonlyMap<string, string>;

/** The result of planning: UPDATEs in send order and what the peer has after them. */
export interface RibPlan {
  updates: UpdateMessage[];
  advertised: Map<string, string>;
  /** Prefixes not sent: invalid, or of a family/next hop the session lacks. */
  skipped: string[];
  /** Prefixes announced and withdrawn by this plan. */
  announced: number;
  withdrawn: number;
}

/** iBGP default LOCAL_PREF: FRR's and most routers' default (upstream native sent 0). */
export const DEFAULT_LOCAL_PREF = 100;

function normalise(a: RouteAttributes, ibgp: boolean): RouteAttributes {
  const out: RouteAttributes = {};
  if (ibgp) out.localPref = a.localPref ?? DEFAULT_LOCAL_PREF;
  if (a.med !== undefined) out.med = a.med;
  // Sorted and de-duplicated, as upstream sorts communities (docs/upstream-behaviour.md §2.7).
  if (a.communities && a.communities.length > 0) out.communities = [...new Set(a.communities)].sort((x, y) => x - y);
  if (a.largeCommunities && a.largeCommunities.length > 0) {
    const seen = new Map(a.largeCommunities.map((l) => [`${l.globalAdmin}:${l.localData1}:${l.localData2}`, l]));
    out.largeCommunities = [...seen.values()].sort(
      (x, y) => x.globalAdmin - y.globalAdmin || x.localData1 - y.localData1 || x.localData2 - y.localData2,
    );
  }
  return out;
}

/**
 * A stable key for attributes: equal keys share an UPDATE, a changed key re-announces. Built
 * by hand rather than with JSON.stringify: it runs once per route on every sync.
 */
export function attributeKey(a: RouteAttributes, ibgp: boolean): string {
  const lp = ibgp ? (a.localPref ?? DEFAULT_LOCAL_PREF) : '';
  const med = a.med ?? '';
  const c = a.communities;
  const comms = c === undefined || c.length === 0 ? '' : c.length === 1 ? String(c[0]) : normalise(a, false).communities!.join(',');
  const l = a.largeCommunities;
  const large =
    l === undefined || l.length === 0
      ? ''
      : normalise(a, false)
          .largeCommunities!.map((x) => `${x.globalAdmin}:${x.localData1}:${x.localData2}`)
          .join(',');
  return `${lp}|${med}|${comms}|${large}`;
}

/** The full path attributes for a route of a family (RFC 4271 §5.1 for what eBGP vs iBGP carries). */
export function pathAttributes(a: RouteAttributes, afi: number, ctx: RibContext): PathAttributes {
  const n = normalise(a, ctx.ibgp);
  // iBGP: empty AS_PATH; eBGP: our AS prepended (RFC 4271 §5.1.2).
  const out: PathAttributes = {
    origin: Origin.Igp,
    asPath: ctx.ibgp ? [] : [{ type: AsPathSegmentType.AsSequence, asns: [ctx.localAsn] }],
  };
  const viaIpv6 = afi === Afi.Ipv4 && ipv4OverIpv6(ctx);
  if (afi === Afi.Ipv4 && !viaIpv6) out.nextHop = ctx.nextHopIpv4;
  if (n.med !== undefined) out.med = n.med;
  if (n.localPref !== undefined) out.localPref = n.localPref;
  if (n.communities) out.communities = n.communities;
  if (n.largeCommunities) out.largeCommunities = n.largeCommunities;
  if (afi === Afi.Ipv6 || viaIpv6) out.mpReach = { afi, safi: 1, nextHops: ctx.nextHopsIpv6 ?? [], nlri: [] };
  return out;
}

function hasFamily(families: Family[], afi: number): boolean {
  return families.some((f) => f.afi === afi && f.safi === 1);
}

function sendable(afi: number, ctx: RibContext): boolean {
  if (!hasFamily(ctx.families, afi)) return false;
  return afi === Afi.Ipv4 ? ctx.nextHopIpv4 !== undefined || ipv4OverIpv6(ctx) : (ctx.nextHopsIpv6?.length ?? 0) > 0;
}

/**
 * Pack prefixes into UPDATEs built by `make`, each at most 4096 octets. `base` is the size with
 * no prefixes; one octet is kept spare for an attribute growing into the extended-length form.
 */
function pack(prefixes: string[], base: number, make: (chunk: string[]) => UpdateMessage): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  const room = MAX_MESSAGE_LENGTH - base - 1;
  let chunk: string[] = [];
  let used = 0;
  for (const p of prefixes) {
    const n = prefixWireLength(p);
    if (used + n > room && chunk.length > 0) {
      out.push(make(chunk));
      chunk = [];
      used = 0;
    }
    chunk.push(p);
    used += n;
  }
  if (chunk.length > 0) out.push(make(chunk));
  return out;
}

function announceGroup(prefixes: string[], attrs: RouteAttributes, afi: number, ctx: RibContext): UpdateMessage[] {
  const template = pathAttributes(attrs, afi, ctx);
  const base = encode({ type: MessageType.Update, withdrawn: [], attributes: template, nlri: [] }, ctx).length;
  return pack(prefixes, base, (chunk) =>
    template.mpReach === undefined
      ? { type: MessageType.Update, withdrawn: [], attributes: template, nlri: chunk }
      : { type: MessageType.Update, withdrawn: [], attributes: { ...template, mpReach: { ...template.mpReach!, nlri: chunk } }, nlri: [] },
  );
}

function withdrawGroup(prefixes: string[], afi: number): UpdateMessage[] {
  if (afi === Afi.Ipv4) {
    return pack(prefixes, 23, (chunk) => ({ type: MessageType.Update, withdrawn: chunk, attributes: {}, nlri: [] }));
  }
  // header 19 + 2 + 2, MP_UNREACH header 4 (extended form) + AFI/SAFI 3
  return pack(prefixes, 30, (chunk) => ({
    type: MessageType.Update,
    withdrawn: [],
    attributes: { mpUnreach: { afi, safi: 1, withdrawn: chunk } },
    nlri: [],
  }));
}

/** Desired routes with canonical prefixes and attribute keys computed once. */
export interface PreparedRoutes {
  readonly ibgp: boolean;
  readonly routes: ReadonlyArray<{ prefix: string; afi: number; key: string; attrs: RouteAttributes }>;
  /** Inputs that are not valid prefixes. */
  readonly invalid: readonly string[];
}

/**
 * Canonicalise prefixes and key attributes. Independent of what the OPENs negotiate, so the
 * session does it when routes are set, not after Established (that keeps the time from
 * Established to the full table short). Duplicate prefixes keep the first attributes.
 */
export function prepareRoutes(desired: ReadonlyMap<string, RouteAttributes>, ibgp: boolean): PreparedRoutes {
  const routes: Array<{ prefix: string; afi: number; key: string; attrs: RouteAttributes }> = [];
  const invalid: string[] = [];
  const seen = new Set<string>();
  for (const [raw, attrs] of desired) {
    const prefix = canonicalPrefix(raw);
    if (prefix === undefined) {
      invalid.push(raw);
      continue;
    }
    if (seen.has(prefix)) continue;
    seen.add(prefix);
    routes.push({ prefix, afi: afiOf(prefix), key: attributeKey(attrs, ibgp), attrs });
  }
  return { ibgp, routes, invalid };
}

/**
 * Plan the UPDATEs that take the peer from `advertised` to `desired`: announcements of new and
 * changed routes grouped by attributes, in the desired map's order, then the withdrawals, as
 * upstream sends them (docs/upstream-behaviour.md §5.4): make before break, so a /32 replaced by
 * its aggregate (aggregationLength edited) never leaves the router without a covering route.
 */
export function planUpdates(desired: ReadonlyMap<string, RouteAttributes> | PreparedRoutes, advertised: Advertised, ctx: RibContext): RibPlan {
  const prepared = !(desired instanceof Map) && (desired as PreparedRoutes).ibgp === ctx.ibgp ? (desired as PreparedRoutes) : prepareRoutes(toMap(desired), ctx.ibgp);
  const next = new Map<string, string>();
  const skipped: string[] = [...prepared.invalid];
  const groups = new Map<string, { afi: number; attrs: RouteAttributes; prefixes: string[] }>();
  let announced = 0;
  const ok = { [Afi.Ipv4]: sendable(Afi.Ipv4, ctx), [Afi.Ipv6]: sendable(Afi.Ipv6, ctx) } as Record<number, boolean>;
  for (const { prefix, afi, key, attrs } of prepared.routes) {
    if (!ok[afi]) {
      skipped.push(prefix);
      continue;
    }
    next.set(prefix, key);
    if (advertised.get(prefix) === key) continue;
    const groupKey = `${afi}|${key}`;
    let g = groups.get(groupKey);
    if (!g) groups.set(groupKey, (g = { afi, attrs, prefixes: [] }));
    g.prefixes.push(prefix);
    announced++;
  }
  const gone: Record<number, string[]> = { [Afi.Ipv4]: [], [Afi.Ipv6]: [] };
  for (const prefix of advertised.keys()) if (!next.has(prefix)) gone[afiOf(prefix)]!.push(prefix);
  const updates: UpdateMessage[] = [];
  for (const g of groups.values()) updates.push(...announceGroup(g.prefixes, g.attrs, g.afi, ctx));
  updates.push(...withdrawGroup(gone[Afi.Ipv4]!, Afi.Ipv4), ...withdrawGroup(gone[Afi.Ipv6]!, Afi.Ipv6));
  return { updates, advertised: next, skipped, announced, withdrawn: gone[Afi.Ipv4]!.length + gone[Afi.Ipv6]!.length };
}

function toMap(d: ReadonlyMap<string, RouteAttributes> | PreparedRoutes): ReadonlyMap<string, RouteAttributes> {
  if (d instanceof Map) return d;
  const p = d as PreparedRoutes;
  return new Map(p.routes.map((r) => [r.prefix, r.attrs]));
}

/**
 * After (re-)establishment the peer has nothing of ours: announce everything, then one
 * End-of-RIB per negotiated family (RFC 4724 §4), which also ends graceful restart at the peer.
 */
export function fullSync(desired: ReadonlyMap<string, RouteAttributes> | PreparedRoutes, ctx: RibContext): RibPlan {
  const plan = planUpdates(desired, new Map(), ctx);
  for (const f of ctx.families) plan.updates.push(endOfRib(f));
  return plan;
}

/**
 * Answer a ROUTE-REFRESH (RFC 2918 §4): resend every route of that family, and withdraw what the
 * peer holds of it that is no longer wanted. A refresh can be answered between a route change
 * and the diff that would withdraw the old route; planned from nothing, it forgot that route and
 * the peer kept it until the session reset.
 */
export function refreshFamily(desired: ReadonlyMap<string, RouteAttributes> | PreparedRoutes, advertised: Advertised, family: Family, ctx: RibContext): RibPlan {
  // Prepared routes skip canonicalising the whole table again: a refresh flood re-planned it per request.
  const ofFamily: ReadonlyMap<string, RouteAttributes> | PreparedRoutes =
    desired instanceof Map
      ? new Map([...desired].filter(([p]) => afiOf(p) === family.afi))
      : { ibgp: (desired as PreparedRoutes).ibgp, routes: (desired as PreparedRoutes).routes.filter((r) => r.afi === family.afi), invalid: [] };
  // What the peer holds of the family, under a key no route has: all of it differs, so every
  // wanted route is sent again and the rest is withdrawn.
  const held: Advertised = new Map([...advertised].filter(([p]) => afiOf(p) === family.afi).map(([p]) => [p, 'refresh']));
  const plan = planUpdates(ofFamily, held, ctx);
  // Routes of the other families are untouched by a refresh.
  for (const [p, k] of advertised) if (afiOf(p) !== family.afi) plan.advertised.set(p, k);
  return plan;
}

/**
 * The fewest 4096-octet UPDATEs that could carry these routes: per attribute group, the total
 * NLRI octets over the room one message leaves. The benchmark's yardstick for packing.
 */
export function minUpdates(desired: ReadonlyMap<string, RouteAttributes>, ctx: RibContext): number {
  const groups = new Map<string, { afi: number; attrs: RouteAttributes; bytes: number }>();
  for (const [raw, attrs] of desired) {
    const prefix = canonicalPrefix(raw);
    if (prefix === undefined || !sendable(afiOf(prefix), ctx)) continue;
    const afi = afiOf(prefix);
    const key = `${afi}|${attributeKey(attrs, ctx.ibgp)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { afi, attrs, bytes: 0 }));
    g.bytes += prefixWireLength(prefix);
  }
  let total = 0;
  for (const g of groups.values()) {
    const template = pathAttributes(g.attrs, g.afi, ctx);
    const base = encode({ type: MessageType.Update, withdrawn: [], attributes: template, nlri: [] }, ctx).length;
    total += Math.ceil(g.bytes / (MAX_MESSAGE_LENGTH - base));
  }
  return total;
}
