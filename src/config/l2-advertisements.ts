/** L2Advertisement parsing and attachment to pools (docs/upstream-behaviour.md §2.5). */
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

/**
 * Upstream attaches an ad without preferences only if the pool has no equivalent ad (§2.5):
 * same all-interfaces flag, node set, interface set and service selectors in order. A string
 * key makes the check O(1) per pool instead of comparing node sets pairwise.
 */
function equivalenceKey(a: L2Advertisement): string {
  return JSON.stringify([a.allInterfaces, [...a.nodes].sort(), [...new Set(a.interfaces)].sort(), a.serviceSelectors.map((s) => s.text)]);
}

/** Parse L2Advertisements (sorted by name) and attach each to its pools. */
export function parseL2Advertisements(
  raws: readonly unknown[],
  issues: Issues,
  pools: ReadonlyMap<string, PoolDraft>,
  nodes: readonly Meta[],
): L2Advertisement[] {
  const out: L2Advertisement[] = [];
  const keysByPool = new Map<string, Set<string>>();
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
    // Ads with preferences are never merged: their weights must add up per node.
    const key = ad.preferredNodeSelectors.length === 0 ? equivalenceKey(ad) : undefined;
    for (const name of ad.pools) {
      const pool = pools.get(name);
      if (!pool) continue;
      if (key !== undefined) {
        const keys = keysByPool.get(name) ?? new Set<string>();
        keysByPool.set(name, keys);
        if (keys.has(key)) continue;
        keys.add(key);
      }
      pool.l2Advertisements.push(ad);
    }
  }
  return out;
}
