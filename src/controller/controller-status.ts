/**
 * Writer for what the controller publishes besides Service status and its ConfigurationState
 * (src/k8s/configuration-state.ts): IPAddressPool status counters
 * (docs/upstream-behaviour.md §3.12).
 */
import type { KubeClient } from '../k8s/client';
import type { KubeObject } from '../k8s/informer';
import type { PoolCounters } from './allocator/types';

/** An IPAddressPool as the informer holds it. */
export interface PoolObject extends KubeObject {
  status?: { assignedIPv4?: number; assignedIPv6?: number; availableIPv4?: number; availableIPv6?: number };
}

/** True when the pool's status already shows these counters (compared as float64, as JSON parsing yields). */
export function poolStatusCurrent(pool: PoolObject, c: PoolCounters): boolean {
  const s = pool.status;
  return (
    s !== undefined &&
    s.assignedIPv4 === Number(c.assignedIPv4) &&
    s.assignedIPv6 === Number(c.assignedIPv6) &&
    s.availableIPv4 === Number(c.availableIPv4) &&
    s.availableIPv6 === Number(c.availableIPv6)
  );
}

/**
 * Write pool status with an UPDATE on `ipaddresspools/status` (as upstream), guarded by the
 * cached resourceVersion. The body is built by hand so int64 counters above 2^53 keep every digit.
 */
export async function writePoolStatus(client: KubeClient, pool: PoolObject, c: PoolCounters): Promise<PoolObject> {
  const ns = pool.metadata?.namespace ?? '';
  const name = pool.metadata?.name ?? '';
  const status = `{"assignedIPv4":${c.assignedIPv4},"assignedIPv6":${c.assignedIPv6},"availableIPv4":${c.availableIPv4},"availableIPv6":${c.availableIPv6}}`;
  const { status: _old, ...rest } = pool as PoolObject & Record<string, unknown>;
  void _old;
  const json = JSON.stringify({ ...rest, apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool' });
  const rawBody = `${json.slice(0, -1)},"status":${status}}`;
  return client.request<PoolObject>({ method: 'PUT', path: `/apis/metallb.io/v1beta1/namespaces/${encodeURIComponent(ns)}/ipaddresspools/${encodeURIComponent(name)}/status`, rawBody });
}
