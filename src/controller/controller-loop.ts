/**
 * The controller's I/O shell: informers → one keyed queue → pure decisions (parseConfig,
 * reconcileService) → writes (Service status, Events, IPAddressPool status, ConfigurationState).
 * docs/architecture.md §3: handlers only enqueue keys; workers read the latest object from the
 * cache.
 *
 * Startup order is what keeps IPs stable across restarts (docs/controller.md, "Order of work"):
 * informers sync, the config is parsed, every assignment recorded in Service status is re-adopted,
 * and only then do workers reconcile Services (and so allocate). A restart therefore changes no IP.
 *
 * Queue keys: `s:<ns>/<name>` a Service; in a second queue with its own few workers, `p:<pool>` a
 * pool's status and `state` the ConfigurationState, so that a Service never waits behind 10,000
 * pool status writes after a bulk apply. One queue per key means one in-flight reconcile per key.
 * Configuration events do not go through a queue: they are debounced (CONFIG_RELOAD_BOUNDS) into
 * one synchronous parse per burst, which no reconcile can interleave with.
 */
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { parseConfig, type ConfigResources } from '../config/parse';
import { formatConfigError } from '../config/scope';
import { assessConfig, ConditionReason, NOTHING_REPORTED, type ConfigReport, type ConfigVerdict } from '../config/verdict';
import type { ConfigError } from '../config/types';
import { configCounts, errorSample } from '../config/summary';
import { BurstDebouncer, type DebounceBounds } from '../util/burst-debouncer';
import { realClock, type Clock } from '../util/clock';
import { ConfigChangeFilter } from '../k8s/config-change';
import { type KubeClient, isConflict, isNotFound } from '../k8s/client';
import { type EventRecorder, EventType, refTo } from '../k8s/events';
import { type Informer, type KubeObject, createInformer, objectKey, splitKey } from '../k8s/informer';
import { WorkQueue, WorkResult } from '../k8s/work-queue';
import type { KubeMetrics } from '../k8s/metrics';
import { Allocator } from './allocator/allocator';
import { adoptExistingAssignments, reprocessOrder } from './service-reconcile-startup';
import { reconcileService } from './service-reconcile';
import { ReconcileOutcome, SyncResult, type ServiceView } from './service-reconcile-types';
import { allocationFingerprint, poolsOnly } from './controller-config';
import { CONFIG_SOURCES, sourcePath } from '../k8s/config-sources';
import { writeConfigurationState } from '../k8s/configuration-state';
import { type PoolObject, poolStatusCurrent, writePoolStatus } from './controller-status';
import type { ControllerMetrics } from './metrics';
import { conditionTime, mergeServiceCondition } from './service-condition';
import { configProjection, projectService } from './cache-projection';
import type { ProbeResult } from '../k8s/health';
import type { PoolCounters } from './allocator/types';

/** A Service as the informer holds it. */
export interface ServiceObject extends KubeObject, ServiceView {
  metadata?: KubeObject['metadata'] & ServiceView['metadata'];
  status?: Record<string, unknown> & ServiceView['status'];
}

/** Dependencies of {@link createControllerLoop}. */
export interface ControllerLoopDeps {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly kubeMetrics?: KubeMetrics;
  readonly recorder: EventRecorder;
  readonly namespace: string;
  readonly lbClass: string;
  readonly workers: number;
  /**
   * With leader election a synced standby reports ready: a Deployment whose standby never
   * became Ready would never roll out (Flux and Argo health-check `metallb-controller`).
   */
  readonly standbyReady?: boolean;
  /** Clock for condition transition times; defaults to the system clock. */
  readonly now?: () => Date;
  /** Owner of the ConfigurationState, when running in a pod. */
  readonly owner?: () => Promise<{ name: string; uid: string } | undefined>;
  /** Times the configuration reload; realClock in production. */
  readonly clock?: Clock;
  /** Bounds of the reload debounce; {@link CONFIG_RELOAD_BOUNDS} by default. */
  readonly reloadBounds?: DebounceBounds;
}

/** The running shell. */
export interface ControllerLoop {
  /** Start informers and wait until every one has synced (a standby does only this). */
  startInformers(): Promise<void>;
  /** Load config, adopt existing assignments, then reconcile (the leader does this). */
  run(opts?: { freshList?: boolean }): Promise<void>;
  stop(): Promise<void>;
  healthy(): ProbeResult;
  ready(): ProbeResult;
  /** The in-memory allocator, for tests and the benchmark. */
  readonly allocator: Allocator;
}

const POOL_STATUS_DELAY_MS = 200;
/** Status writes are bookkeeping: two in flight keep up without crowding out Service writes. */
const STATUS_WORKERS = 2;

/**
 * A burst of configuration events (`kubectl apply` of 10,000 pools) costs a few parses, not one
 * per event: parse 100 ms after the burst settles, at the latest 2 s after its first event, and
 * never sooner than max(1 s, 4 × its duration) after the previous parse (docs/controller.md,
 * "Configuration reload").
 */
export const CONFIG_RELOAD_BOUNDS: DebounceBounds = { quietMs: 100, maxDelayMs: 2_000, minIntervalMs: 1_000, costFactor: 4 };

/** Build the controller shell; nothing runs until `startInformers()`/`run()`. */
export function createControllerLoop(deps: ControllerLoopDeps): ControllerLoop {
  const { client, log, metrics, recorder, namespace, lbClass } = deps;
  const now = deps.now ?? ((): Date => new Date());
  const allocator = new Allocator();
  const queue = new WorkQueue<string>(deps.kubeMetrics ? { observer: deps.kubeMetrics.queueObserver('metallb-controller') } : {});
  const statusQueue = new WorkQueue<string>(deps.kubeMetrics ? { observer: deps.kubeMetrics.queueObserver('metallb-controller-status') } : {});
  /** Objects we wrote whose watch event has not arrived yet: `basedOn` is the cache RV they replace. */
  const written = new Map<string, { basedOn: string; obj: ServiceObject }>();
  let loaded = false;
  let adopted = false;
  let running = false;
  /** run() was called: configuration events now lead to a parse. */
  let started = false;
  let synced = false;
  /** Set by stop(): a sync wait or a run that starts after it must not outlive the loop. */
  let stopped = false;
  let fingerprint = '';
  /** What was last logged about the configuration (warnings once per change). */
  let reported: ConfigReport = NOTHING_REPORTED;
  let verdict: ConfigVerdict | undefined;
  let workersDone: Promise<void> | undefined;
  let statusWorkersDone: Promise<void> | undefined;
  const clock = deps.clock ?? realClock;
  // Parses run only once run() started: a standby keeps its caches warm and parses nothing.
  const reload = new BurstDebouncer(clock, deps.reloadBounds ?? CONFIG_RELOAD_BOUNDS, () => {
    if (!started) return;
    // It runs from a timer: a throw here would end the process, where a queued reconcile's is logged.
    try {
      handleConfig();
    } catch (err) {
      log.error({ event: 'reconcileFailed', key: 'config', err: errorMessage(err) }, 'reconcile threw');
    }
  });
  /** Counters last published per pool: a reload re-publishes only the pools whose counters moved. */
  const published = new Map<string, PoolCounters>();

  const onInformerError = (): void => metrics.updateError();
  const services = createInformer<ServiceObject>({
    client,
    path: '/api/v1/services',
    log,
    transform: projectService,
    onError: onInformerError,
    onEvent: (ev, svc) => {
      const key = objectKey(svc);
      const w = written.get(key);
      if (w && (ev === 'delete' || svc.metadata?.resourceVersion !== w.basedOn)) written.delete(key);
      queue.add(`s:${key}`);
    },
  });

  const changes = new ConfigChangeFilter();
  const configInformers = CONFIG_SOURCES.map((s) => ({
    source: s,
    informer: createInformer<KubeObject>({
      client,
      path: sourcePath(s, namespace),
      log,
      transform: configProjection(s),
      onError: onInformerError,
      onEvent: (ev, o) => {
        if (!changes.changed(s, ev, o)) return;
        // A new or re-created pool object needs its status written even if its counters match.
        if (s.field === 'pools') published.delete(o.metadata?.name ?? '');
        reload.trigger();
      },
    }),
  }));
  const poolInformer = configInformers.find((c) => c.source.field === 'pools')?.informer as Informer<PoolObject>;
  const allInformers: Informer<KubeObject>[] = [services, ...configInformers.map((c) => c.informer)];

  /** The newest known state of a Service: our overlay while the cache still holds `basedOn` ('' = absent). */
  function readService(key: string): ServiceObject | undefined {
    const { namespace: ns, name } = splitKey(key);
    const cached = services.get(name, ns);
    const w = written.get(key);
    if (w && (cached?.metadata?.resourceVersion ?? '') === w.basedOn) return w.obj;
    if (w) written.delete(key);
    return cached;
  }

  /** Every Service, cache overlaid with newer known states (including ones the cache lacks yet). */
  function serviceSnapshot(): ServiceObject[] {
    const out: ServiceObject[] = [];
    for (const svc of services.list()) out.push(readService(objectKey(svc)) ?? svc);
    for (const [key, w] of written) if (w.basedOn === '' && readService(key) === w.obj) out.push(w.obj);
    return out;
  }

  function enqueueAllServices(): void {
    for (const svc of reprocessOrder(serviceSnapshot())) queue.add(`s:${objectKey(svc)}`);
  }

  function publishChangedPools(): void {
    for (const pool of allocator.drainChangedPools()) {
      const c = allocator.counters(pool);
      // A reload marks every pool changed; most counters did not move, and a status check per
      // pool per reload would put 10,000 keys ahead of every Service in the queue.
      if (!c || sameCounters(published.get(pool), c)) continue;
      published.set(pool, c);
      metrics.setPool(pool, c);
      statusQueue.addAfter(`p:${pool}`, POOL_STATUS_DELAY_MS);
    }
  }

  function resources(): ConfigResources {
    const r: Record<string, unknown[]> = {};
    for (const { source, informer } of configInformers) r[source.field] = [...informer.list()];
    return r as ConfigResources;
  }

  function reportInvalid(errors: readonly ConfigError[], consequence: string): void {
    for (const e of errors) {
      const src = CONFIG_SOURCES.find((s) => s.kind === e.kind);
      const inf = configInformers.find((c) => c.source === src)?.informer;
      const obj = inf?.get(e.name, e.namespace || namespace);
      const ref = obj ? refTo(obj, e.kind, src?.apiVersion ?? 'metallb.io/v1beta1') : { apiVersion: src?.apiVersion ?? 'metallb.io/v1beta1', kind: e.kind, namespace: e.namespace || namespace, name: e.name };
      recorder.record(ref, EventType.Warning, ConditionReason.ConfigurationError, `${formatConfigError(e)} (${consequence})`);
    }
  }

  /**
   * Parse; apply the pools to the allocator (adopting first on the first load). Every kind is
   * parsed so that ConfigurationState and Events report every error, but allocation needs only
   * the pools: as upstream's controller, which reads only IPAddressPools, Communities and
   * Namespaces, an error in a BGPPeer, an advertisement or a BFDProfile (the speakers' part)
   * does not stop allocation; the pools are then parsed on their own.
   */
  function handleConfig(): void {
    const t0 = clock.now();
    try {
      applyConfig(t0);
    } finally {
      metrics.parsed(clock.now() - t0);
    }
  }

  function applyConfig(t0: number): void {
    metrics.update();
    const all = resources();
    const full = parseConfig(all);
    const res = full.ok ? full : parseConfig(poolsOnly(all));
    const assessed = assessConfig(reported, full);
    reported = assessed.reported;
    verdict = assessed.verdict;
    if (assessed.newWarnings) log.warn({ event: 'configWarning', warnings: assessed.newWarnings }, 'configuration accepted with warnings');
    // Every invalid parse is logged and reported as Events, not only a changed one: handleConfig
    // runs only when a configuration object's spec or labels changed.
    if (!full.ok) {
      metrics.updateError();
      // A sample, each error naming its object: 10,000 broken pools must not mean 10,000 lines.
      const sample = errorSample(full.errors);
      if (res.ok) log.error({ event: 'configInvalid', ...sample, poolsValid: true }, 'invalid configuration outside the IPAddressPools; allocation goes on with the pools');
      else log.error({ event: 'configInvalid', ...sample, stale: loaded }, loaded ? 'invalid configuration; the last valid one stays in force' : 'invalid configuration; nothing is allocated until it is fixed');
      reportInvalid(full.errors, res.ok ? 'IP allocation goes on: the IPAddressPools are valid' : 'the last valid configuration stays in force');
    }
    statusQueue.add('state');
    metrics.configStale(!res.ok);
    if (!res.ok) return;
    const fp = allocationFingerprint(res.config);
    if (loaded && fp === fingerprint) return;
    fingerprint = fp;
    const report = allocator.setPools(res.config.pools, res.config.poolIndex);
    loaded = true;
    metrics.configLoaded(true);
    for (const p of report.removedPools) {
      metrics.deletePool(p);
      published.delete(p);
    }
    log.info({ event: 'configLoaded', ...configCounts(full.ok ? full.config : res.config), parseMs: Math.round(clock.now() - t0), released: report.released.length, moved: report.moved.length }, 'configuration loaded');
    if (!adopted) {
      const a = adoptExistingAssignments(allocator, serviceSnapshot(), lbClass);
      adopted = true;
      log.info({ event: 'assignmentsAdopted', adopted: a.adopted.length, conflicts: a.conflicts.length, dropped: a.dropped.length }, 'existing assignments re-adopted');
      for (const c of a.conflicts) log.warn({ event: 'assignmentConflict', ...c }, 'two Services claim one address; the older keeps it');
      for (const d of a.dropped) log.info({ event: 'assignmentDropped', ...d }, 'recorded IP no longer allowed; the Service will get a new one');
    }
    publishChangedPools();
    enqueueAllServices();
  }

  async function handleService(key: string): Promise<WorkResult> {
    metrics.update();
    const svc = readService(key);
    const out = reconcileService(allocator, { key, service: svc, loadBalancerClass: lbClass, configLoaded: loaded });
    if (svc) for (const ev of out.events) recorder.record(refTo(svc, 'Service', 'v1'), ev.type, ev.reason, ev.message);
    if (out.result === SyncResult.ReprocessAll) enqueueAllServices();
    publishChangedPools();
    if (out.outcome === ReconcileOutcome.Converged && out.pendingReason !== undefined && out.write) {
      log.info({ event: 'servicePending', service: key, reason: out.pendingReason }, 'Service has no IP');
    }
    if (!svc) return WorkResult.Done;
    // Other controllers' conditions are kept; ours is written only when it changes.
    const conditions = out.condition === undefined ? undefined : mergeServiceCondition(svc.status?.conditions, out.condition, conditionTime(now()));
    if (!out.write && conditions === undefined) return WorkResult.Done;
    const { namespace: ns, name } = splitKey(key);
    const { conditions: oldConditions, ...restStatus } = svc.status ?? {};
    const keptConditions = conditions ?? oldConditions;
    const status: ServiceObject['status'] = {
      ...restStatus,
      loadBalancer: out.ingress.length > 0 ? { ingress: out.ingress.map((i) => ({ ip: i.ip })) } : {},
      ...(keptConditions !== undefined && keptConditions.length > 0 ? { conditions: keptConditions } : {}),
    };
    const body: ServiceObject = {
      ...svc,
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { ...svc.metadata, annotations: { ...out.annotations } },
      status,
    };
    try {
      const res = await client.request<ServiceObject>({ method: 'PUT', path: `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}/status`, body });
      const basedOn = services.get(name, ns)?.metadata?.resourceVersion;
      if (basedOn !== undefined && basedOn !== res.metadata?.resourceVersion) written.set(key, { basedOn, obj: projectService(res) });
      log.debug({ event: 'serviceUpdated', service: key, ingress: out.ingress.map((i) => i.ip), pool: out.allocatedFromPool }, 'status written');
      return WorkResult.Done;
    } catch (err) {
      if (isNotFound(err)) return WorkResult.Done;
      metrics.updateError();
      // 409: the cache is behind the object; retry reads the newer one once the watch delivers it.
      if (!isConflict(err)) log.warn({ event: 'statusWriteFailed', service: key, err: errorMessage(err) }, 'could not write Service status');
      return WorkResult.Retry;
    }
  }

  async function handlePool(name: string): Promise<WorkResult> {
    const counters = allocator.counters(name);
    const pool = poolInformer.get(name, namespace);
    if (!counters || !pool || poolStatusCurrent(pool, counters)) return WorkResult.Done;
    try {
      await writePoolStatus(client, pool, counters);
      return WorkResult.Done;
    } catch (err) {
      if (isNotFound(err)) return WorkResult.Done;
      if (!isConflict(err)) log.warn({ event: 'poolStatusFailed', pool: name, err: errorMessage(err) }, 'could not write IPAddressPool status');
      return WorkResult.Retry;
    }
  }

  async function handleState(): Promise<WorkResult> {
    if (!verdict) return WorkResult.Done;
    try {
      await writeConfigurationState(client, namespace, verdict, await deps.owner?.());
      return WorkResult.Done;
    } catch (err) {
      log.warn({ event: 'configurationStateFailed', err: errorMessage(err) }, 'could not write ConfigurationState');
      return WorkResult.Retry;
    }
  }

  async function handle(key: string): Promise<WorkResult> {
    if (key === 'state') return handleState();
    if (key.startsWith('p:')) return handlePool(key.slice(2));
    return handleService(key.slice(2));
  }

  /** Overlay a consistent LIST on the cache, so a new leader sees every write its predecessor made. */
  async function overlayFreshList(): Promise<void> {
    const fresh = await client.list<ServiceObject>('/api/v1/services', { transform: projectService });
    for (const svc of fresh.items) {
      const key = objectKey(svc);
      const cached = services.get(svc.metadata?.name ?? '', svc.metadata?.namespace);
      // '' marks a Service the cache has not seen yet (created just before the takeover).
      const basedOn = cached?.metadata?.resourceVersion ?? '';
      if (basedOn !== svc.metadata?.resourceVersion) written.set(key, { basedOn, obj: svc });
    }
  }

  return {
    allocator,
    async startInformers(): Promise<void> {
      const t0 = Date.now();
      await Promise.all(allInformers.map((i) => i.start()));
      let nextLog = Date.now() + 10_000;
      while (!stopped && !allInformers.every((i) => i.hasSynced())) {
        if (Date.now() > nextLog) {
          nextLog = Date.now() + 10_000;
          const waiting = CONFIG_SOURCES.filter((_, i) => !configInformers[i]?.informer.hasSynced()).map((s) => s.kind);
          if (!services.hasSynced()) waiting.unshift('Service');
          // Usually a missing CRD or RBAC rule: the informer's own warnings say which request failed.
          log.warn({ event: 'waitingForSync', waiting }, 'still waiting for informers to sync');
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (stopped) return;
      synced = true;
      log.info({ event: 'informersSynced', ms: Date.now() - t0, services: services.list().length }, 'informers synced');
    },
    async run(opts: { freshList?: boolean } = {}): Promise<void> {
      if (!synced) await this.startInformers();
      if (stopped) return;
      if (opts.freshList) await overlayFreshList();
      if (stopped) return;
      // Adoption happens inside the first successful parse, before any worker runs; the events
      // the initial LIST delivered are all covered by it.
      started = true;
      reload.runNow();
      running = true;
      const onError = (key: string, err: unknown): void => log.error({ event: 'reconcileFailed', key, err: errorMessage(err) }, 'reconcile threw');
      workersDone = queue.run(deps.workers, handle, onError);
      statusWorkersDone = statusQueue.run(STATUS_WORKERS, handle, onError);
    },
    async stop(): Promise<void> {
      stopped = true;
      reload.stop();
      queue.shutDown();
      statusQueue.shutDown();
      await Promise.all(allInformers.map((i) => i.stop()));
      await Promise.all([workersDone, statusWorkersDone]);
      await recorder.flush();
      running = false;
    },
    healthy: () => ({ ok: true }),
    ready(): ProbeResult {
      if (!synced) return { ok: false, reason: 'informers not synced' };
      if (!running) return deps.standbyReady ? { ok: true } : { ok: false, reason: 'starting' };
      if (!verdict) return { ok: false, reason: 'configuration not evaluated' };
      return { ok: true };
    },
  };
}

/** Equal pool counters: nothing to re-publish. */
function sameCounters(a: PoolCounters | undefined, b: PoolCounters): boolean {
  return (
    a !== undefined &&
    a.total === b.total &&
    a.totalIPv4 === b.totalIPv4 &&
    a.totalIPv6 === b.totalIPv6 &&
    a.inUse === b.inUse &&
    a.assignedIPv4 === b.assignedIPv4 &&
    a.assignedIPv6 === b.assignedIPv6 &&
    a.availableIPv4 === b.availableIPv4 &&
    a.availableIPv6 === b.availableIPv6
  );
}
