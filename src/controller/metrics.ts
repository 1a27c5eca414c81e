/**
 * The controller's Prometheus metrics, with upstream's names, help texts and labels
 * (docs/upstream-behaviour.md §6), on an injected registry (no global default registry). The
 * chart's PrometheusRules (stale config, config not loaded, pool exhausted/usage) query these.
 */
import { Gauge, type Registry } from 'prom-client';
import { createConfigMetrics, type ConfigMetrics } from '../k8s/config-metrics';
import type { PoolCounters } from './allocator/types';

/** Metric handles the controller shell updates. */
export interface ControllerMetrics extends ConfigMetrics {
  /** Publish one pool's counters (capacity and in-use). */
  setPool(pool: string, c: PoolCounters): void;
  /** Delete a removed pool's series, as upstream does. */
  deletePool(pool: string): void;
}

/** int64 counters become float gauges, as Go's client_golang does. */
function num(b: bigint): number {
  return Number(b);
}

/** Register the controller metrics on `registry`. */
export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const reg = [registry];
  const g = (name: string, help: string): Gauge => new Gauge({ name, help, labelNames: ['pool'], registers: reg });
  const total = g('metallb_allocator_addresses_total', 'Number of usable IP addresses, per pool');
  const totalV4 = g('metallb_allocator_ipv4_addresses_total', 'Number of usable IPv4 addresses, per pool');
  const totalV6 = g('metallb_allocator_ipv6_addresses_total', 'Number of usable IPv6 addresses, per pool');
  const inUse = g('metallb_allocator_addresses_in_use_total', 'Number of IP addresses in use, per pool');
  const inUseV4 = g('metallb_allocator_ipv4_addresses_in_use_total', 'Number of IPv4 addresses in use, per pool');
  const inUseV6 = g('metallb_allocator_ipv6_addresses_in_use_total', 'Number of IPv6 addresses in use, per pool');
  // Registered but never set upstream either (no series); kept so dashboards find the name.
  g('metallb_allocator_services_allocated_total', 'Number of services allocated, per pool');
  const config = createConfigMetrics(registry);
  const all = [total, totalV4, totalV6, inUse, inUseV4, inUseV6];
  return {
    setPool(pool, c): void {
      total.set({ pool }, num(c.total));
      totalV4.set({ pool }, num(c.totalIPv4));
      totalV6.set({ pool }, num(c.totalIPv6));
      inUse.set({ pool }, num(c.inUse));
      inUseV4.set({ pool }, num(c.assignedIPv4));
      inUseV6.set({ pool }, num(c.assignedIPv6));
    },
    deletePool(pool): void {
      for (const m of all) m.remove({ pool });
    },
    ...config,
  };
}
