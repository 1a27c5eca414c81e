/**
 * When a new parse of the configuration matters to the controller (the collections it is built
 * from are listed in src/k8s/config-sources.ts).
 *
 * The controller parses the whole metallb.io configuration (not only pools and communities as
 * upstream's PoolReconciler does) because without admission webhooks its ConfigurationState is
 * where users learn about a broken BGPPeer or L2Advertisement (docs/architecture.md §1.2).
 * Allocation, though, depends on upstream's subset only (`poolsOnly`): an error elsewhere is
 * reported and does not stop it. Invalid pools keep the last good ones in force
 * (docs/upstream-behaviour.md §2.1 step 5).
 */
import type { Config } from '../config/types';
import type { ConfigResources } from '../config/parse';

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
 * Namespaces; docs/upstream-behaviour.md §2.1): the speakers' kinds are left out, so their errors
 * cannot make the pools unusable for allocation.
 */
export function poolsOnly(all: ConfigResources): ConfigResources {
  return { ...all, l2Advertisements: [], bgpAdvertisements: [], peers: [], bfdProfiles: [], secrets: [] };
}
