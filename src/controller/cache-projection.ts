/**
 * What the controller keeps of each watched object. Informer caches hold every Service and every
 * configuration object for the life of the process, and most of an object's JSON is never read:
 * `metadata.managedFields` (a field tree per writer, often the largest part), a Node's status,
 * Service spec fields that allocation ignores (client-go's cache `TransformFunc` exists for this).
 *
 * What may be dropped is bounded by what the controller writes back. A Service status UPDATE
 * carries the object's metadata (the apiserver keeps labels, annotations, finalizers and owner
 * references from the body, so all of metadata but managedFields is kept; an update without
 * managedFields keeps the stored ones) while its spec is replaced by the stored spec, so the spec
 * is cut to the fields `ServiceView` lists. IPAddressPool status updates go to the `/status`
 * subresource, which ignores everything but status.
 */
import type { KubeObject } from '../k8s/informer';
import type { ConfigSource } from '../k8s/config-sources';
import type { ServiceObject } from './controller-loop';

/** The object without `metadata.managedFields`. */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (meta?.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  void _dropped;
  return { ...obj, metadata: rest };
}

/** Only identity and metadata: a parse reads nothing else of Nodes and Namespaces (their labels). */
export function metadataOnly<T extends KubeObject>(obj: T): T {
  const { apiVersion, kind } = obj;
  return { apiVersion, kind, metadata: withoutManagedFields(obj).metadata } as T;
}

/** The spec fields `ServiceView` reads; the rest is left to the apiserver's stored spec. */
const SERVICE_SPEC_FIELDS = ['type', 'clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'loadBalancerIP', 'loadBalancerClass', 'ports', 'externalTrafficPolicy', 'selector'] as const;

/** A Service cut to what reconcile reads and what its status UPDATE must carry back. */
export function projectService(svc: ServiceObject): ServiceObject {
  const { spec, status, ...rest } = withoutManagedFields(svc);
  let keptSpec: Record<string, unknown> | undefined;
  if (spec) {
    keptSpec = {};
    for (const f of SERVICE_SPEC_FIELDS) if (spec[f] !== undefined) keptSpec[f] = spec[f];
  }
  const keptStatus = status && {
    ...(status.loadBalancer !== undefined ? { loadBalancer: status.loadBalancer } : {}),
    ...(status.conditions !== undefined ? { conditions: status.conditions } : {}),
  };
  return { ...rest, ...(keptSpec ? { spec: keptSpec as ServiceObject['spec'] } : {}), ...(keptStatus ? { status: keptStatus } : {}) };
}

/** The projection for one configuration source's objects. */
export function configProjection(source: ConfigSource): (obj: KubeObject) => KubeObject {
  return source.field === 'nodes' || source.field === 'namespaces' ? metadataOnly : withoutManagedFields;
}
