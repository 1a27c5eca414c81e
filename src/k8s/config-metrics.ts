/**
 * Upstream's `metallb_k8s_client_*` configuration metrics, which both the controller and every
 * speaker export (docs/upstream-behaviour.md §6). The chart's MetalLBStaleConfig and
 * MetalLBConfigNotLoaded alerts query them, so a speaker running on its last good configuration
 * must say so too.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Handles of the configuration metrics. */
export interface ConfigMetrics {
  /** One reconcile processed (a Service, a config object, a pool). */
  update(): void;
  /** One reconcile that ended in an error (an invalid configuration included). */
  updateError(): void;
  /** A valid configuration was loaded (stays 1 once set). */
  configLoaded(loaded: boolean): void;
  /** The latest configuration failed to load, so an older one (or none) is in force. */
  configStale(stale: boolean): void;
  /**
   * One full parse of the configuration took `ms`. Not upstream's: reloads are debounced
   * (docs/controller.md, "Configuration reload"), and this says how many bursts cost a parse.
   */
  parsed(ms: number): void;
}

/** Register the configuration metrics on `registry`. */
export function createConfigMetrics(registry: Registry): ConfigMetrics {
  const reg = [registry];
  const updates = new Counter({ name: 'metallb_k8s_client_updates_total', help: 'Number of k8s object updates that have been processed.', registers: reg });
  const updateErrors = new Counter({ name: 'metallb_k8s_client_update_errors_total', help: 'Number of k8s object updates that failed for some reason.', registers: reg });
  const loaded = new Gauge({ name: 'metallb_k8s_client_config_loaded_bool', help: '1 if the MetalLB configuration was successfully loaded at least once.', registers: reg });
  const stale = new Gauge({ name: 'metallb_k8s_client_config_stale_bool', help: '1 if running on a stale configuration, because the latest config failed to load.', registers: reg });
  const parses = new Counter({ name: 'metallb_config_parses_total', help: 'Number of full parses of the MetalLB configuration.', registers: reg });
  const parseSeconds = new Histogram({
    name: 'metallb_config_parse_duration_seconds',
    help: 'Duration of a full parse of the MetalLB configuration, with what the process does with it.',
    buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 1, 2.5, 10],
    registers: reg,
  });
  loaded.set(0);
  stale.set(0);
  return {
    update: () => updates.inc(),
    updateError: () => updateErrors.inc(),
    configLoaded: (b) => loaded.set(b ? 1 : 0),
    configStale: (b) => stale.set(b ? 1 : 0),
    parsed: (ms) => {
      parses.inc();
      parseSeconds.observe(ms / 1000);
    },
  };
}
