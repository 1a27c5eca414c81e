/**
 * What the controller watches to build its configuration, and when a new parse matters.
 *
 * The controller parses the whole metallb.io configuration (not only pools and communities as
 * upstream's PoolReconciler does) because without admission webhooks its ConfigurationState is
 * where users learn about a broken BGPPeer or L2Advertisement (DESIGN.md §3). Allocation,
 * though, depends on upstream's subset only (`poolsOnly`): an error elsewhere is reported and
 * does not stop it. Invalid pools keep the last good ones in force (metallb-spec.md §2.1 step 5).
 */
import type { Config } from '../config/types';
import type { ConfigResources } from '../config/parse';

/** One watched collection: the informer path and the ConfigResources field it feeds. */
export interface ConfigSource {
  readonly field: keyof ConfigResources;
  readonly kind: string;
  readonly apiVersion: string;
  /** Collection path; `{ns}` is replaced by the release namespace. */
  readonly path: string;
}

/** Every collection the controller's configuration is built from (spec §2.1, §1.11). */
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

/**
 * A canonical text of everything in a Config that the allocator depends on. Equal texts mean
 * a reparse changed nothing for IP allocation (e.g. a Node label or a BGPPeer edit), so no
 * reprocess-all is needed (upstream skips the handler when the config is deep-equal, §2.1.6).
 */
export function allocationFingerprint(config: Config): string {
  const pools = [...config.pools.values()].map((p) => ({
    n: p.name,
    c: p.cidrs.map((c) => c.cidr),
    a: p.autoAssign,
    b: p.avoidBuggyIPs,
    s:
      p.serviceAllocation === undefined
        ? null
        : {
            p: p.serviceAllocation.priority,
            ns: [...p.serviceAllocation.namespaces].sort(),
            sel: p.serviceAllocation.serviceSelectors.map((m) => m.text),
          },
  }));
  return JSON.stringify(pools);
}

/**
 * The part of the resources upstream's controller reads (IPAddressPools, Communities,
 * Namespaces; metallb-spec.md §2.1): the speakers' kinds are left out, so their errors cannot
 * make the pools unusable for allocation.
 */
export function poolsOnly(all: ConfigResources): ConfigResources {
  return { ...all, l2Advertisements: [], bgpAdvertisements: [], peers: [], bfdProfiles: [], secrets: [] };
}
