/** L2Advertisement parsing and attachment to pools (metallb-spec.md §2.5). */
import { readAdCommon } from './ad-common';
import { asObject, FieldReader, type Issues, type Meta, show } from './issues';
import type { PoolDraft } from './pools';
import { readSelectorList, sortSelectors } from './selector-list';
import { ConfigKind, type L2Advertisement, type PreferredNodeSelector } from './types';

function readPreferred(r: FieldReader): PreferredNodeSelector[] {
  const out: PreferredNodeSelector[] = [];
  r.list('preferredNodeSelectors').forEach((item, i) => {
    const field = `preferredNodeSelectors[${i}]`;
    const obj = asObject(item);
    if (!obj) {
      r.error(field, `spec.${field} must be an object with weight and preference, got ${show(item)}`);
      return;
    }
    const ir = new FieldReader(r.issues, r.ref, obj, `spec.${field}`);
    if (obj['weight'] === undefined || obj['weight'] === null) ir.error('weight', `spec.${field}.weight is required`);
    const weight = ir.int('weight', 1, 100);
    if (obj['preference'] === undefined || obj['preference'] === null) {
      ir.error('preference', `spec.${field}.preference is required`);
      return;
    }
    // Reuse the list reader on a one-element list so the selector rules are identical.
    const prefs = readSelectorList(new FieldReader(r.issues, r.ref, { preference: [obj['preference']] }, `spec.${field}`), 'preference');
    const preference = prefs[0];
    if (weight !== undefined && preference !== undefined) out.push({ weight, preference });
  });
  return out;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

/** Upstream attaches an ad without preferences only if the pool has no equivalent ad (§2.5). */
function equivalent(a: L2Advertisement, b: L2Advertisement): boolean {
  return (
    a.allInterfaces === b.allInterfaces &&
    sameSet(a.nodes, b.nodes) &&
    sameSet(new Set(a.interfaces), new Set(b.interfaces)) &&
    a.serviceSelectors.length === b.serviceSelectors.length &&
    a.serviceSelectors.every((s, i) => s.text === b.serviceSelectors[i]?.text)
  );
}

/** Parse L2Advertisements (sorted by name) and attach each to its pools. */
export function parseL2Advertisements(
  raws: readonly unknown[],
  issues: Issues,
  pools: ReadonlyMap<string, PoolDraft>,
  nodes: readonly Meta[],
): L2Advertisement[] {
  const out: L2Advertisement[] = [];
  for (const raw of raws) {
    const c = readAdCommon(raw, ConfigKind.L2Advertisement, issues, pools, nodes);
    const interfaces = c.r.stringList('interfaces');
    const preferredNodeSelectors = readPreferred(c.r);
    const ad: L2Advertisement = {
      name: c.meta.name,
      pools: c.pools,
      nodeSelectors: c.nodeSelectors,
      nodes: c.nodes,
      allInterfaces: interfaces.length === 0,
      interfaces,
      serviceSelectors: sortSelectors(c.serviceSelectors),
      preferredNodeSelectors,
    };
    out.push(ad);
    for (const name of ad.pools) {
      const pool = pools.get(name);
      if (!pool) continue;
      // Ads with preferences are never merged: their weights must add up per node.
      if (ad.preferredNodeSelectors.length === 0 && pool.l2Advertisements.some((e) => e.preferredNodeSelectors.length === 0 && equivalent(e, ad))) continue;
      pool.l2Advertisements.push(ad);
    }
  }
  return out;
}
