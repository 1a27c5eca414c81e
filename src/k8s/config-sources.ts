/**
 * The collections both processes watch to build the metallb.io configuration: the metallb.io
 * kinds and Secrets in the release namespace, plus Namespaces and Nodes cluster-wide (the set
 * upstream's ConfigReconciler lists, `internal/k8s/controllers/config_controller.go` in
 * metallb/metallb). Each feeds one field of `ConfigResources`, which `parseConfig` turns into a
 * Config; the controller watches all of them, a speaker all but Nodes (it has its own Node
 * informer).
 */
import type { ConfigResources } from '../config/parse';

/** One watched collection: the informer path and the ConfigResources field it feeds. */
export interface ConfigSource {
  readonly field: keyof ConfigResources;
  readonly kind: string;
  readonly apiVersion: string;
  /** Collection path; `{ns}` is replaced by the release namespace. */
  readonly path: string;
}

/** Every collection the configuration is built from. */
export const CONFIG_SOURCES: readonly ConfigSource[] = [
  { field: 'pools', kind: 'IPAddressPool', apiVersion: 'metallb.io/v1beta1', path: '/apis/metallb.io/v1beta1/namespaces/{ns}/ipaddresspools' },
  { field: 'l2Advertisements', kind: 'L2Advertisement', apiVersion: 'metallb.io/v1beta1', path: '/apis/metallb.io/v1beta1/namespaces/{ns}/l2advertisements' },
  { field: 'bgpAdvertisements', kind: 'BGPAdvertisement', apiVersion: 'metallb.io/v1beta1', path: '/apis/metallb.io/v1beta1/namespaces/{ns}/bgpadvertisements' },
  // v1beta2 is the storage version; the apiserver serves v1beta1 objects in this shape too.
  { field: 'peers', kind: 'BGPPeer', apiVersion: 'metallb.io/v1beta2', path: '/apis/metallb.io/v1beta2/namespaces/{ns}/bgppeers' },
  { field: 'communities', kind: 'Community', apiVersion: 'metallb.io/v1beta1', path: '/apis/metallb.io/v1beta1/namespaces/{ns}/communities' },
  { field: 'bfdProfiles', kind: 'BFDProfile', apiVersion: 'metallb.io/v1beta1', path: '/apis/metallb.io/v1beta1/namespaces/{ns}/bfdprofiles' },
  { field: 'secrets', kind: 'Secret', apiVersion: 'v1', path: '/api/v1/namespaces/{ns}/secrets' },
  { field: 'namespaces', kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces' },
  { field: 'nodes', kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes' },
];

/** Path of a source for a release namespace. */
export function sourcePath(s: ConfigSource, namespace: string): string {
  return s.path.replace('{ns}', encodeURIComponent(namespace));
}
