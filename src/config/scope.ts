/**
 * Helpers for callers that feed `parseConfig`: namespace scoping (upstream only sees MetalLB
 * objects and Secrets in its own namespace, docs/upstream-behaviour.md §10.23), the speaker's
 * per-node pre-filter of BGPPeers and BGPAdvertisements (§2.1), and error formatting.
 */
import { asObject, readMeta } from './issues';
import type { ConfigResources } from './parse';
import { matchesAny, type Labels, parseLabelSelector, type LabelMatcher } from './selectors';
import type { ConfigError } from './types';

/** Keep only objects whose `metadata.namespace` equals `namespace`. */
export function inNamespace<T>(objects: readonly T[], namespace: string): T[] {
  return objects.filter((o) => readMeta(o).namespace === namespace);
}

/**
 * Scope resources to the MetalLB namespace: namespaced kinds (CRs, Secrets) are filtered;
 * Nodes and Namespaces are cluster-scoped and pass through.
 */
export function scopeToNamespace(resources: ConfigResources, namespace: string): ConfigResources {
  const f = (x: readonly unknown[] | undefined): unknown[] => inNamespace(Array.isArray(x) ? x : [], namespace);
  return {
    pools: f(resources.pools),
    l2Advertisements: f(resources.l2Advertisements),
    bgpAdvertisements: f(resources.bgpAdvertisements),
    peers: f(resources.peers),
    communities: f(resources.communities),
    bfdProfiles: f(resources.bfdProfiles),
    secrets: f(resources.secrets),
    nodes: resources.nodes ?? [],
    namespaces: resources.namespaces ?? [],
  };
}

function rawSelectsNode(obj: unknown, nodeLabels: Labels): boolean {
  const sels = asObject(asObject(obj)?.['spec'])?.['nodeSelectors'];
  if (!Array.isArray(sels) || sels.length === 0) return true;
  const matchers: LabelMatcher[] = [];
  for (const s of sels) {
    const p = parseLabelSelector(s);
    // Keep objects with broken selectors so the parser reports them.
    if (!p.ok) return true;
    matchers.push(p.matcher);
  }
  return matchesAny(matchers, nodeLabels);
}

/**
 * The speaker's pre-filter (§2.1): BGPPeers and BGPAdvertisements whose nodeSelectors do not
 * match this node are dropped before parsing, so a broken peer meant for another node does
 * not invalidate this node's config.
 */
export function forNode(resources: ConfigResources, nodeLabels: Labels): ConfigResources {
  const f = (x: readonly unknown[] | undefined): unknown[] => (Array.isArray(x) ? x : []).filter((o) => rawSelectsNode(o, nodeLabels));
  return { ...resources, peers: f(resources.peers), bgpAdvertisements: f(resources.bgpAdvertisements) };
}

/** The message, plus what it does when it disables a BGPPeer: the words every report uses. */
export function describeConfigError(e: ConfigError): string {
  return e.disablesPeer ? `${e.message} (peer disabled)` : e.message;
}

/** `<Kind>/<name>: <message>`, the form used in CLI output and ConfigurationState. */
export function formatConfigError(e: ConfigError): string {
  return `${e.kind}/${e.name}: ${describeConfigError(e)}`;
}

/** One text for ConfigurationState `errorSummary` / condition messages (errors joined by newline). */
export function configErrorSummary(errors: readonly ConfigError[]): string {
  return errors.map(formatConfigError).join('\n');
}
