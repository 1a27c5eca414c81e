/**
 * Conversions from Kubernetes JSON (as informers cache it) to the speaker's plain views. Pure;
 * anything malformed degrades to "not usable" rather than throwing, because one odd object must
 * never stop a node from announcing the others.
 */
import type { EndpointView, NodeView } from './view';

/** Node JSON, only the fields read here. */
export interface NodeObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { conditions?: Array<{ type?: string; status?: string }>; addresses?: Array<{ type?: string; address?: string }> };
}

/** EndpointSlice JSON (discovery.k8s.io/v1), only the fields read here. */
export interface EndpointSliceObject {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: Array<{ addresses?: string[]; nodeName?: string; conditions?: { ready?: boolean | null; serving?: boolean | null } }>;
}

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Node JSON -> NodeView. */
export function nodeView(node: NodeObject): NodeView {
  const unavailable = (node.status?.conditions ?? []).some((c) => c.type === 'NetworkUnavailable' && c.status === 'True');
  return { name: node.metadata?.name ?? '', labels: node.metadata?.labels ?? {}, networkUnavailable: unavailable };
}

/** The node's first InternalIP of IPv4 family, for the BGP router ID fallback. */
export function nodeIpv4(node: NodeObject | undefined): string | undefined {
  return node?.status?.addresses?.find((a) => a.type === 'InternalIP' && /^\d+\.\d+\.\d+\.\d+$/.test(a.address ?? ''))?.address;
}

/**
 * Upstream's EndpointCanServe (docs/upstream-behaviour.md §4.0): ready unset or true, or serving
 * true, so a terminating-but-serving endpoint still counts.
 */
export function endpointUsable(conditions: { ready?: boolean | null; serving?: boolean | null } | undefined): boolean {
  const ready = conditions?.ready;
  return ready === undefined || ready === null || ready === true || conditions?.serving === true;
}

/** Group EndpointSlices by their Service (`namespace/name`). */
export function endpointsByService(slices: readonly EndpointSliceObject[]): Map<string, EndpointView[]> {
  const out = new Map<string, EndpointView[]>();
  for (const slice of slices) {
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const k = `${slice.metadata?.namespace ?? ''}/${svc}`;
    const list = out.get(k) ?? [];
    for (const ep of slice.endpoints ?? []) {
      list.push({ nodeName: ep.nodeName, usable: endpointUsable(ep.conditions), addressCount: Array.isArray(ep.addresses) ? ep.addresses.length : 0 });
    }
    out.set(k, list);
  }
  return out;
}
