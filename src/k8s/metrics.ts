/**
 * The client-go / workqueue metrics upstream exposes through controller-runtime's registry
 * (docs/upstream-behaviour.md §6: "the standard controller-runtime/client-go/workqueue … metrics
 * are also present"), with the same names and labels, on an injected prom-client registry.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RequestObserver } from './client';
import type { QueueObserver } from './work-queue';

/** Metric hooks for the k8s shell. */
export interface KubeMetrics {
  /** Feed to `createKubeClient({ observe })`. */
  readonly observeRequest: RequestObserver;
  /** Observer for a named work queue. */
  queueObserver(name: string): QueueObserver;
}

/** Register the client and workqueue metrics on `registry`. */
export function createKubeMetrics(registry: Registry, host: string): KubeMetrics {
  const requests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'rest_client_request_duration_seconds',
    help: 'Request latency in seconds. Broken down by verb, and host.',
    labelNames: ['verb', 'host'],
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [registry],
  });
  const adds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers: [registry] });
  const depth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers: [registry] });
  const retries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers: [registry] });
  const buckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10];
  const queued = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name'],
    buckets,
    registers: [registry],
  });
  const worked = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name'],
    buckets,
    registers: [registry],
  });
  return {
    observeRequest(method, code, durationSec): void {
      requests.inc({ code, method, host });
      latency.observe({ verb: method, host }, durationSec);
    },
    queueObserver(name: string): QueueObserver {
      return {
        add: () => adds.inc({ name }),
        depth: (d) => depth.set({ name }, d),
        retry: () => retries.inc({ name }),
        queued: (s) => queued.observe({ name }, s),
        worked: (s) => worked.observe({ name }, s),
      };
    },
  };
}
