/**
 * The speaker process: informers -> one debounced, level-triggered recompute (planSpeaker, pure)
 * -> the L2 Lease election and the BGP sessions, which diff against what they already do. Lease
 * events go straight to the election: ownership must react in milliseconds, not wait for a
 * recompute. Only the CLI turns the outcome into an exit code.
 */
import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { L2Announcer } from '../arp/announcer';
import { parseConfig, type ConfigResources } from '../config/parse';
import { configErrorSummary, forNode, formatConfigError } from '../config/scope';
import { ConditionReason, speakerState, writeConfigurationState, type ConfigVerdict } from '../k8s/configuration-state';
import type { Config } from '../config/types';
import { createKubeClient, loadKubeConfig } from '../k8s/client';
import { createEventRecorder, EventType } from '../k8s/events';
import { createInformer, type Informer, type KubeObject } from '../k8s/informer';
import type { Lease } from '../k8s/lease';
import { createKubeMetrics } from '../k8s/metrics';
import { podOwnerSource, type OwnerReference } from '../k8s/pod-owner';
import { CONFIG_SOURCES, sourcePath } from '../controller/controller-config';
import { startHttpEndpoint, type HttpEndpoint, type ProbeResult } from '../controller/health';
import { errorMessage } from '../util/errors';
import { realClock } from '../util/clock';
import type { Logger } from '../util/log';
import { BgpPeers, routerIdFromName } from './bgp-peers';
import { endpointsByService, nodeIpv4, nodeView, type EndpointSliceObject, type NodeObject } from './cluster-view';
import { L2Election, type L2DataPlane } from './l2-election';
import { LeaseLabel, LeaseStore } from './lease-store';
import { createSpeakerMetrics } from './metrics';
import { announcedSeries, bgpRoutesOf, planSpeaker, type ServiceObject, type SpeakerPlan } from './speaker-plan';
import type { SpeakerOptions } from './speaker-options';
import type { NodeView } from './view';
import { StatusKind, StatusWriter, type DesiredStatuses } from './status-objects';

export { addSpeakerFlags, speakerOptionsFrom, type SpeakerOptions } from './speaker-options';

/** Coalesce bursts of watch events into one recompute (keeps BGP e2e latency low, CPU flat). */
const RECOMPUTE_DEBOUNCE_MS = 10;

/** A running speaker. */
export interface SpeakerHandle {
  readonly port: number;
  readonly done: Promise<void>;
  /** Graceful stop: hand VIPs over, close BGP sessions. */
  stop(): Promise<void>;
  /** Hard stop for tests: no handover. */
  kill(): Promise<void>;
  plan(): SpeakerPlan | undefined;
  election: L2Election;
}

/** Start the speaker; resolves once informers are started and the endpoint listens. */
export async function startSpeaker(opts: SpeakerOptions, log: Logger): Promise<SpeakerHandle> {
  const slog = log.child({ component: 'speaker', node: opts.nodeName });
  const kc = loadKubeConfig(opts.kubeconfig);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const host = new URL(kc.getCurrentCluster()?.server ?? 'https://localhost').host;
  const kubeMetrics = createKubeMetrics(registry, host);
  const client = createKubeClient(kc, { observe: kubeMetrics.observeRequest, userAgent: 'metallb-ts-speaker', maxSockets: 8 });
  const recorder = createEventRecorder({ client, log: slog, component: 'metallb-speaker', instance: opts.nodeName });

  const announcer = new L2Announcer({ logger: slog.child({ component: 'l2' }), garp: opts.garp, excludeInterfaces: opts.excludeInterfaces, rescanIntervalMs: 10_000 });
  /** IP -> the interface selection whose failure was reported (see announce below). */
  const announceFailures = new Map<string, string>();
  const dataPlane: L2DataPlane = {
    announce: (ip, ifaces) => {
      const sel = announcer.announce(ip, ifaces);
      if (sel.ok) {
        announceFailures.delete(ip);
        return true;
      }
      // The election retries every tick until the interface appears; the log line and
      // upstream's Warning Event (on every Service with this IP) come once per selection.
      const key = JSON.stringify(ifaces);
      if (announceFailures.get(ip) === key) return false;
      announceFailures.set(ip, key);
      const message = `the interfaces specified by LB IP "${ip}" doesn't exist in assigned node "${opts.nodeName}" with protocol "layer2"`;
      slog.warn({ event: 'announceFailed', ip, interfaces: ifaces }, message);
      for (const svc of plans.current?.services.values() ?? []) {
        if (!svc.ips.includes(ip)) continue;
        const [namespace = '', name = ''] = svc.key.split('/');
        recorder.record({ apiVersion: 'v1', kind: 'Service', namespace, name }, EventType.Warning, 'announceFailed', message);
      }
      return false;
    },
    withdraw: (ip) => {
      announceFailures.delete(ip);
      announcer.withdraw(ip);
    },
    probe: (ip, mac, timeoutMs) => announcer.probe(ip, mac, { timeoutMs }),
    // The announcer's own scan: the MACs published are those of the interfaces it would serve on.
    localMacs: (ip, interfaces) => announcer.servingMacs(ip, interfaces),
  };

  let apiHealthySince: number | undefined;
  const ownerPod = podOwnerSource(client, opts.namespace, opts.podName, slog);
  void ownerPod.get(); // known() below never waits for it: a Lease write is on the failover path
  // Leases outlive any one Pod, so they are owned by the DaemonSet: `helm uninstall` deletes it and
  // the garbage collector takes the Leases with it.
  const leaseOwners = (): OwnerReference[] => {
    const ds = ownerPod.known()?.controller;
    return ds ? [ds] : [];
  };
  const store = new LeaseStore(client, opts.namespace, Math.ceil(opts.election.leaseDurationMs / 1000), leaseOwners);
  const plans: { current: SpeakerPlan | undefined } = { current: undefined };
  const election = new L2Election({
    me: opts.nodeName,
    store,
    dataPlane,
    log: slog.child({ component: 'election' }),
    timing: opts.election,
    clock: realClock,
    apiHealthySince: () => apiHealthySince,
    onOwnership: (ip, owned) => {
      queueMicrotask(syncL2Status);
      queueMicrotask(syncAnnouncedMetric);
      for (const svc of plans.current?.services.values() ?? []) {
        if (!svc.ips.includes(ip)) continue;
        if (owned) {
          const [namespace, name] = svc.key.split('/');
          recorder.record({ apiVersion: 'v1', kind: 'Service', namespace: namespace ?? '', name: name ?? '' }, EventType.Normal, 'nodeAssigned', `announcing from node "${opts.nodeName}" with protocol "layer2"`);
        }
      }
    },
  });
  announcer.on('conflict', (c) => election.onConflict(c.ip, c.mac));
  const bgp = new BgpPeers(slog.child({ component: 'bgp' }));
  const l2Status = new StatusWriter(client, opts.namespace, opts.nodeName, StatusKind.L2, slog, ownerPod.get);
  const bgpStatus = new StatusWriter(client, opts.namespace, opts.nodeName, StatusKind.Bgp, slog, ownerPod.get);
  /** ServiceL2Status: Services with an IP this node announces right now (§4.6). */
  const syncL2Status = (): void => {
    const owned = new Set(election.announced());
    const desired: DesiredStatuses = new Map();
    for (const svc of plans.current?.services.values() ?? []) {
      if (!svc.ips.some((ip) => owned.has(ip)) || !svc.l2 || !('ranked' in svc.l2)) continue;
      const [serviceNamespace = '', serviceName = ''] = svc.key.split('/');
      const ifaces = svc.l2.interfaces === 'all' ? [] : svc.l2.interfaces.map((name) => ({ name }));
      desired.set(svc.key, { node: opts.nodeName, serviceName, serviceNamespace, interfaces: ifaces });
    }
    l2Status.set(desired);
  };
  /** metallb_speaker_announced: the Services this node announces now, per protocol and IP. */
  const syncAnnouncedMetric = (): void => metrics.setAnnounced(announcedSeries(plans.current?.services.values() ?? [], new Set(election.announced())));
  const metrics = createSpeakerMetrics(registry, { l2: () => announcer.counters(), election: () => election.stats, peers: () => bgp.status(), leaseWrites: () => store.writeCount }, opts.nodeName);

  // --- informers --------------------------------------------------------------------------
  let timer: NodeJS.Timeout | undefined;
  // Set once shutdown begins (which also clears the timer): informer events that arrive while we
  // hand over or stop must not schedule a recompute, or bgp.sync() would re-open the sessions
  // bgp.stop() just closed.
  let stopping = false;
  const schedule = (): void => {
    if (stopping) return;
    if (!timer) timer = setTimeout(() => {
      timer = undefined;
      recompute();
    }, RECOMPUTE_DEBOUNCE_MS);
  };
  const informer = <T extends KubeObject>(path: string, extra: Partial<Parameters<typeof createInformer<T>>[0]> = {}): Informer<T> =>
    createInformer<T>({ client, path, log: slog, onEvent: () => schedule(), ...extra });
  const services = informer<ServiceObject & KubeObject>('/api/v1/services');
  const slices = informer<EndpointSliceObject & KubeObject>('/apis/discovery.k8s.io/v1/endpointslices');
  const nodes = informer<NodeObject & KubeObject>('/api/v1/nodes');
  const configInformers = CONFIG_SOURCES.filter((s) => s.field !== 'nodes').map((s) => ({ field: s.field, inf: informer<KubeObject>(sourcePath(s, opts.namespace)) }));
  const leases = createInformer<Lease>({
    client,
    path: `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`,
    labelSelector: `${LeaseLabel.ManagedBy}=metallb-ts`,
    log: slog,
    onEvent: (ev, lease) => {
      if (ev === 'delete') election.onLeaseDeleted(lease);
      else election.onLease(lease);
      // Presence changes alter the live-speaker set, hence the candidates.
      if (lease.metadata?.labels?.[LeaseLabel.Kind] === 'speaker') schedule();
    },
    onRestart: () => {
      apiHealthySince = realClock.now();
      schedule();
    },
    onError: () => {
      apiHealthySince = undefined;
    },
  });
  const all: Informer<KubeObject>[] = [services, slices, nodes, leases, ...configInformers.map((c) => c.inf)];

  // --- ConfigurationState speaker-<node> (spec §1.10) ---------------------------------------
  // Written when the verdict changes; a change during a write is written next, a failed write
  // is retried a few seconds later.
  let stateLatest: ConfigVerdict | undefined;
  let stateWritten = '';
  let stateWriting = false;
  const publishState = (verdict?: ConfigVerdict): void => {
    if (verdict) stateLatest = verdict;
    if (!stateLatest || stateWriting) return;
    const current = stateLatest;
    const key = JSON.stringify(current);
    if (key === stateWritten) return;
    stateWriting = true;
    void ownerPod
      .get()
      .then((owner) => writeConfigurationState(client, opts.namespace, current, owner, new Date(), speakerState(opts.nodeName)))
      .then(
        () => {
          stateWriting = false;
          stateWritten = key;
          publishState();
        },
        (err: unknown) => {
          stateWriting = false;
          slog.warn({ event: 'configurationStateFailed', err: errorMessage(err) }, 'could not write the ConfigurationState; retrying');
          setTimeout(() => publishState(), 5_000).unref();
        },
      );
  };

  // --- recompute ---------------------------------------------------------------------------
  let lastGood: Config | undefined;
  let lastErrorText = '';
  let lastWarningText = '';
  let ready = false;
  const announcedBgp = new Set<string>();
  function recompute(): void {
    if (!all.every((i) => i.hasSynced())) return;
    try {
      const resources: Record<string, unknown[]> = { nodes: [...nodes.list()] };
      for (const c of configInformers) resources[c.field] = [...c.inf.list()];
      // Upstream's pre-filter (§2.1): peers and BGPAdvertisements for other nodes are left out, so
      // a broken peer meant for another node does not invalidate this node's configuration.
      const parsed = parseConfig(forNode(resources as ConfigResources, nodes.get(opts.nodeName)?.metadata?.labels ?? {}));
      metrics.config.update();
      metrics.config.configStale(!parsed.ok);
      publishState(parsed.ok ? { valid: true } : { valid: false, reason: ConditionReason.ConfigurationError, summary: configErrorSummary(parsed.errors) });
      // Accepted, but likely not what the user meant (a password Secret ending in a newline): said
      // once per change, or the only trace is a session that never comes up.
      const warningText = parsed.warnings.map(formatConfigError).join('; ');
      if (warningText !== lastWarningText && warningText !== '') slog.warn({ event: 'configWarning', warnings: parsed.warnings.map(formatConfigError) }, 'configuration accepted with warnings');
      lastWarningText = warningText;
      if (parsed.ok) {
        lastGood = parsed.config;
        lastErrorText = '';
        metrics.config.configLoaded(true);
      } else {
        metrics.config.updateError();
        const text = configErrorSummary(parsed.errors);
        if (text !== lastErrorText) slog.error({ event: 'configInvalid', errors: parsed.errors.length, summary: text }, 'invalid configuration; keeping the last good one');
        lastErrorText = text;
      }
      if (!lastGood) return;
      const nodeViews = new Map<string, NodeView>();
      for (const n of nodes.list()) nodeViews.set(n.metadata?.name ?? '', nodeView(n));
      const plan = planSpeaker({
        me: opts.nodeName,
        config: lastGood,
        nodes: nodeViews,
        services: services.list(),
        endpoints: endpointsByService(slices.list()),
        lbClass: opts.lbClass,
        ignoreExcludeLB: opts.ignoreExcludeLB,
        liveSpeakers: election.liveSpeakers(),
      });
      plans.current = plan;
      election.setDesired(plan.l2);
      const routerId = nodeIpv4(nodes.get(opts.nodeName)) ?? routerIdFromName(opts.nodeName);
      bgp.sync(plan.peers, plan.bgpRoutes, routerId);
      // ServiceBGPStatus: the peers each Service is configured to reach from this node (§5.8).
      const bgpDesired: DesiredStatuses = new Map();
      for (const svc of plan.services.values()) {
        const routes = bgpRoutesOf(svc);
        if (routes.length === 0) continue;
        const peers = plan.peers.filter((p) => routes.some((r) => r.peers.length === 0 || r.peers.includes(p.name))).map((p) => p.name).sort();
        if (peers.length === 0) continue;
        const [serviceNamespace = '', serviceName = ''] = svc.key.split('/');
        bgpDesired.set(svc.key, { node: opts.nodeName, serviceName, serviceNamespace, peers });
      }
      bgpStatus.set(bgpDesired);
      syncL2Status();
      const nowAnnounced = new Set<string>();
      for (const svc of plan.services.values()) {
        if (bgpRoutesOf(svc).length === 0) continue;
        nowAnnounced.add(svc.key);
        if (!announcedBgp.has(svc.key)) {
          const [namespace, name] = svc.key.split('/');
          recorder.record({ apiVersion: 'v1', kind: 'Service', namespace: namespace ?? '', name: name ?? '' }, EventType.Normal, 'nodeAssigned', `announcing from node "${opts.nodeName}" with protocol "bgp"`);
        }
      }
      for (const k of announcedBgp) if (!nowAnnounced.has(k)) slog.info({ event: 'bgpWithdraw', service: k }, 'withdrawing BGP routes of service');
      announcedBgp.clear();
      for (const k of nowAnnounced) announcedBgp.add(k);
      syncAnnouncedMetric();
      ready = true;
    } catch (err) {
      // A bug in one recompute must not take announcements down; the next event retries.
      slog.error({ event: 'recomputeFailed', err: errorMessage(err) }, 'recompute failed');
    }
  }

  const health = (): ProbeResult => ({ ok: true });
  const readiness = (): ProbeResult => (ready ? { ok: true } : { ok: false, reason: all.every((i) => i.hasSynced()) ? 'no valid configuration yet' : 'informers not synced' });
  let endpoint: HttpEndpoint | undefined;
  if (opts.port > 0) {
    endpoint = await startHttpEndpoint({
      port: opts.port,
      host: opts.host,
      registry,
      log: slog,
      healthy: health,
      ready: readiness,
      ...(opts.metricsCertDir ? { certDir: opts.metricsCertDir } : {}),
      ...(opts.tlsMinVersion ? { tlsMinVersion: opts.tlsMinVersion } : {}),
    });
  }

  slog.info({ event: 'speakerStarting', namespace: opts.namespace, lbClass: opts.lbClass, identity: opts.podName || `${hostname()}_${process.pid}` }, 'starting speaker');
  await Promise.all([...all.map((i) => i.start()), l2Status.start(), bgpStatus.start()]);
  if (leases.hasSynced()) apiHealthySince = realClock.now();
  election.start();
  schedule();

  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const shutdown = async (graceful: boolean): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    if (graceful) {
      await election.handover();
      await l2Status.clear();
    } else election.stop();
    await Promise.all([...all.map((i) => i.stop()), l2Status.stop(), bgpStatus.stop()]);
    await bgp.stop();
    // The sessions are closed and the routes withdrawn: this node advertises nothing now.
    if (graceful) await bgpStatus.clear();
    announcer.close();
    await recorder.flush().catch(() => undefined);
    await endpoint?.close();
    client.close();
    slog.info({ event: 'speakerStopped', graceful }, 'speaker stopped');
    finish();
  };
  return { port: endpoint?.port ?? 0, done, stop: () => shutdown(true), kill: () => shutdown(false), plan: () => plans.current, election };
}

/** Run until SIGTERM/SIGINT, then hand VIPs over and stop. */
export async function runSpeaker(opts: SpeakerOptions, log: Logger): Promise<void> {
  // Last line of defence: log with the stack (the default printer loses it for errors raised
  // from native callbacks) and keep serving; announcements must not stop over one bad event.
  process.on('uncaughtException', (err) => log.error({ event: 'uncaughtException', err, stack: err.stack }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ event: 'unhandledRejection', err }, 'unhandled promise rejection'));
  const handle = await startSpeaker(opts, log);
  const onSignal = (): void => void handle.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await handle.done;
}
