/**
 * Parts shared by L2Advertisement and BGPAdvertisement parsing: pool attachment by name and
 * selector, node-set resolution, and duplicate-name handling.
 */
import { FieldReader, type Issues, type Meta, readMeta, asObject, show } from './issues';
import type { PoolDraft } from './pools';
import { readSelectorList, selectNames } from './selector-list';
import type { LabelMatcher } from './selectors';
import type { ConfigKind } from './types';

/** The fields every advertisement kind has, read and validated. */
export interface AdCommon {
  readonly meta: Meta;
  readonly r: FieldReader;
  /** Pools the ad applies to, in attachment order (named first, then selector-matched). */
  readonly pools: string[];
  readonly nodeSelectors: LabelMatcher[];
  readonly nodes: Set<string>;
  readonly serviceSelectors: LabelMatcher[];
}

/** Read metadata/spec of an advertisement and resolve its pools and nodes. */
export function readAdCommon(
  raw: unknown,
  kind: ConfigKind,
  issues: Issues,
  pools: ReadonlyMap<string, PoolDraft>,
  nodes: readonly Meta[],
): AdCommon {
  const meta = readMeta(raw);
  const ref = { kind, namespace: meta.namespace, name: meta.name };
  const specRaw = asObject(raw)?.['spec'];
  const r = new FieldReader(issues, ref, asObject(specRaw) ?? {});
  if (specRaw !== undefined && specRaw !== null && asObject(specRaw) === undefined) r.error('', `spec must be an object, got ${show(specRaw)}`);
  const poolNames = r.stringList('ipAddressPools');
  r.noDuplicates('ipAddressPools', poolNames, (v) => `duplicate definition of ipAddressPools "${v}"`);
  const poolSelectors = readSelectorList(r, 'ipAddressPoolSelectors');
  const nodeSelectors = readSelectorList(r, 'nodeSelectors');
  const serviceSelectors = readSelectorList(r, 'serviceSelectors');

  let resolved: string[];
  if (poolNames.length === 0 && r.list('ipAddressPoolSelectors').length === 0) {
    // docs/upstream-behaviour.md §2.5, §10.9: no pool list and no selector = every pool.
    resolved = [...pools.keys()];
  } else {
    const set = new Set<string>();
    for (const name of poolNames) {
      if (pools.has(name)) set.add(name);
      // Upstream ignores unknown names silently; a typo then announces nothing, so say so.
      else issues.warn(ref, 'spec.ipAddressPools', `ipAddressPools references pool "${name}" which does not exist`);
    }
    if (poolSelectors.length > 0) {
      const objs = [...pools.values()].map((p) => ({ name: p.name, labels: p.labels }));
      for (const name of selectNames(poolSelectors, objs)) set.add(name);
    }
    resolved = [...set];
  }
  return { meta, r, pools: resolved, nodeSelectors, nodes: selectNames(nodeSelectors, nodes), serviceSelectors };
}

/** Keep the first object of each name; later ones are reported (a re-apply would overwrite). */
export function uniqueByName(raws: readonly unknown[], kind: ConfigKind, issues: Issues): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const raw of raws) {
    const m = readMeta(raw);
    if (seen.has(m.name)) {
      issues.error({ kind, namespace: m.namespace, name: m.name }, 'metadata.name', `duplicate definition of ${kind} "${m.name}"`);
      continue;
    }
    seen.add(m.name);
    out.push(raw);
  }
  return out;
}
