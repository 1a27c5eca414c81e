/**
 * The speaker's I/O shell: informers -> one debounced, level-triggered recompute -> the L2 Lease
 * election, the BGP sessions, the status objects, Events, metrics and the ConfigurationState,
 * each of which diffs against what it already does. Lease events go straight to the election:
 * ownership must react in milliseconds, not wait for a recompute. A recompute reuses the parsed
 * configuration; only configuration changes re-parse it, debounced much longer than a recompute
 * (CONFIG_RELOAD_BOUNDS, docs/speaker.md "Configuration reload"), so a bulk apply of pools costs
 * a few parses and Service changes cost none.
 *
 * The decisions are pure and live beside it: the configuration verdict (src/config/verdict.ts),
 * the plan (speaker-plan.ts), the status objects (status-plan.ts, session-states.ts), the `nodeAssigned` Events
 * (node-assigned.ts) and the announce-failure reports (announce-failures.ts). Everything the loop
 * remembers between events is in one {@link LoopState}.
 */
import { networkInterfaces } from 'node:os';
import type { Registry } from 'prom-client';
import type { L2Announcer } from '../arp/announcer';
import { BfdManager } from '../bfd/bfd-manager';
import { createBfdMetrics } from '../bfd/metrics';
import { parseConfig, type ConfigResources } from '../config/parse';
import { forNode } from '../config/scope';
import type { Config } from '../config/types';
import { assessConfig, NOTHING_REPORTED } from '../config/verdict';
import type { KubeClient } from '../k8s/client';
import { CONFIG_SOURCES, sourcePath } from '../k8s/config-sources';
import { ConfigChangeFilter } from '../k8s/config-change';
import { configCounts } from '../config/summary';
import { BurstDebouncer, type DebounceBounds } from '../util/burst-debouncer';
import { ConfigurationStatePublisher, speakerState } from '../k8s/configuration-state';
import { EventType, refTo, type EventRecorder } from '../k8s/events';
import type { ProbeResult } from '../k8s/health';
import { createInformer, type Informer, type KubeObject } from '../k8s/informer';
import type { Lease } from '../k8s/lease';
import type { OwnerReference, PodOwnerSource } from '../k8s/pod-owner';
import { errorMessage } from '../util/errors';
import { realClock, type Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { ANNOUNCE_FAILED, announceFailedMessage, announceOutcome } from './announce-failures';
import { BfdPeers } from './bfd-peers';
import { FOREIGN_CLAIM, foreignClaimMessage } from './l2-claims';
import { BgpPeers, routerIdFromName } from './bgp-peers';
import { endpointsByService, nodeIpv4, nodeView, type EndpointSliceObject, type NodeObject } from './cluster-view';
import { L2Election, type L2DataPlane } from './l2-election';
import { LeaseLabel, LeaseStore } from './lease-store';
import { createSpeakerMetrics } from './metrics';
import { PEER_DISABLED, peerDisabledMessage, peerNotices } from './peer-notices';
import { offLinkEbgpPeers, PEER_NOT_CONNECTED } from './peer-reachability';
import { diffBgpAssigned, NODE_ASSIGNED, nodeAssignedMessage, servicesWithIp } from './node-assigned';
import { announcedSeries, planSpeaker, serviceName, type ServiceObject, type ServicePlan, type SpeakerPlan } from './speaker-plan';
import type { SpeakerOptions } from './speaker-options';
import { bgpStatuses, l2Statuses } from './status-plan';
import { StatusKind, StatusWriter } from './status-objects';
import { sessionStates, type DisabledPeer, type SessionStateBody } from './session-states';
import type { NodeView } from './view';
import { liveKey, type LoopState } from './speaker-loop-state';

/** Coalesce bursts of watch events into one recompute (keeps BGP e2e latency low, CPU flat). */
const RECOMPUTE_DEBOUNCE_MS = 10;

/**
 * Configuration changes re-parse 100 ms after a burst settles, at the latest 2 s after its first
 * event, never sooner than max(1 s, 4 × the previous parse and the recompute it triggers) after
 * it ended (src/util/burst-debouncer.ts); the controller uses the same bounds.
 */
export const SPEAKER_CONFIG_RELOAD_BOUNDS: DebounceBounds = { quietMs: 100, maxDelayMs: 2_000, minIntervalMs: 1_000, costFactor: 4 };

/** Dependencies of {@link createSpeakerLoop}. */
export interface SpeakerLoopDeps {
  readonly client: KubeClient;
  /**
   * Connections of their own for the Lease writes, `client` by default: sharing `client`'s few
   * sockets, a takeover's Lease writes queued behind the ServiceL2Status objects and Events it
   * causes, and its write queue's in-flight budget was never reached (lease-write-queue.ts).
   */
  readonly leaseClient?: KubeClient;
  /** The speaker's logger (component and node already bound). */
  readonly log: Logger;
  readonly registry: Registry;
  readonly recorder: EventRecorder;
  readonly announcer: L2Announcer;
  readonly ownerPod: PodOwnerSource;
  readonly opts: Pick<SpeakerOptions, 'nodeName' | 'namespace' | 'lbClass' | 'ignoreExcludeLB' | 'election'> & Partial<Pick<SpeakerOptions, 'rebalance'>>;
  /** Monotonic time for the election, the Lease-watch health stamp and the config reload; realClock in production. */
  readonly clock?: Clock;
  /** Bounds of the configuration reload debounce; {@link SPEAKER_CONFIG_RELOAD_BOUNDS} by default. */
  readonly reloadBounds?: DebounceBounds;
  /** The BFD sessions' host; default a BfdManager on the standard ports (tests pick others). */
  readonly bfd?: BfdManager;
  /** This node's interface prefixes (`ip/len`); default the host's, from os.networkInterfaces(). */
  readonly connectedSubnets?: () => readonly string[];
}

/** The prefixes of every interface of this network namespace (the speaker runs on the host's). */
function hostSubnets(): string[] {
  return Object.values(networkInterfaces()).flatMap((addrs) => (addrs ?? []).map((a) => a.cidr ?? '').filter(Boolean));
}

/** The running shell. */
export interface SpeakerLoop {
  readonly election: L2Election;
  /** Start the informers and status writers, then the election and a first recompute. */
  start(): Promise<void>;
  /**
   * Stop. Graceful: hand every VIP over and delete this node's status objects, after closing the
   * BGP sessions for the BGP ones. Otherwise stop at once (tests). Informer events arriving
   * meanwhile schedule nothing.
   */
  stop(graceful: boolean): Promise<void>;
  /** The latest plan (undefined until a valid configuration was seen). */
  plan(): SpeakerPlan | undefined;
  healthy(): ProbeResult;
  ready(): ProbeResult;
}

/** How often a held-back ownership sync looks again whether the takeover writes have gone out. */
const OWNERSHIP_SYNC_RETRY_MS = 200;

/** Build the speaker shell; nothing runs until `start()`. */
export function createSpeakerLoop(deps: SpeakerLoopDeps): SpeakerLoop {
  const { client, log: slog, recorder, announcer, ownerPod, opts } = deps;
  const clock = deps.clock ?? realClock;
  const now = (): number => clock.now();
  const state: LoopState = {
    plan: undefined,
    lastGood: undefined,
    reported: NOTHING_REPORTED,
    ready: false,
    bgpAssigned: new Set(),
    announceFailures: new Map(),
    disabledReported: new Map(),
    notConnectedReported: new Map(),
    heldForBfd: new Set(),
    routerId: routerIdFromName(opts.nodeName),
    apiHealthySince: undefined,
    recomputeTimer: undefined,
    plannedLive: undefined,
    configDirty: true,
    stopping: false,
  };
  const planned = (): Iterable<ServicePlan> => state.plan?.services.values() ?? [];
  const recordOn = (svc: ServicePlan, type: EventType, reason: string, message: string): void =>
    recorder.record({ apiVersion: 'v1', kind: 'Service', ...serviceName(svc) }, type, reason, message);

  const dataPlane: L2DataPlane = {
    announce: (ip, ifaces) => {
      const ok = announcer.announce(ip, ifaces).ok;
      const outcome = announceOutcome(state.announceFailures.get(ip), ifaces, ok);
      if (outcome.failedSelection === undefined) state.announceFailures.delete(ip);
      else state.announceFailures.set(ip, outcome.failedSelection);
      if (outcome.report) {
        const message = announceFailedMessage(ip, opts.nodeName);
        slog.warn({ event: ANNOUNCE_FAILED, ip, interfaces: ifaces }, message);
        for (const svc of servicesWithIp(planned(), ip)) recordOn(svc, EventType.Warning, ANNOUNCE_FAILED, message);
      }
      return ok;
    },
    withdraw: (ip) => {
      state.announceFailures.delete(ip);
      announcer.withdraw(ip);
    },
    reannounce: (ip) => void announcer.reannounce(ip),
    probe: (ip, mac, timeoutMs) => announcer.probe(ip, mac, { timeoutMs }),
    // The announcer's own scan: the MACs published are those of the interfaces it would serve on.
    localMacs: (ip, interfaces) => announcer.servingMacs(ip, interfaces),
  };

  // Leases outlive any one Pod, so they are owned by the DaemonSet: `helm uninstall` deletes it and
  // the garbage collector takes the Leases with it.
  const leaseOwners = (): OwnerReference[] => {
    const ds = ownerPod.known()?.controller;
    return ds ? [ds] : [];
  };
  const store = new LeaseStore(deps.leaseClient ?? client, opts.namespace, Math.ceil(opts.election.leaseDurationMs / 1000), leaseOwners);
  const election = new L2Election({
    me: opts.nodeName,
    store,
    dataPlane,
    log: slog.child({ component: 'election' }),
    timing: opts.election,
    ...(opts.rebalance ? { rebalance: opts.rebalance } : {}),
    clock,
    apiHealthySince: () => state.apiHealthySince,
    onOwnership: (ip, owned) => {
      if (owned) assignedSinceSync.add(ip);
      syncOwnershipSoon();
    },
    onForeignClaim: (ip, mac) => {
      for (const svc of servicesWithIp(planned(), ip)) recordOn(svc, EventType.Warning, FOREIGN_CLAIM, foreignClaimMessage(ip, mac, opts.nodeName));
    },
  });
  announcer.on('conflict', (c) => election.onConflict(c.ip, c.mac));
  // Session transitions (never messages) refresh the BGPSessionStates; deferred out of the FSM step.
  const bgp = new BgpPeers(slog.child({ component: 'bgp' }), { onSessionChange: () => queueMicrotask(syncSessionStates) });
  const bfdHost = deps.bfd ?? new BfdManager({ log: slog });
  // A BFD state change re-gates the BGP sessions at once, without waiting for a recompute.
  const bfd = new BfdPeers({ host: bfdHost, log: slog.child({ component: 'bfd' }), onChange: () => syncBgp() });
  createBfdMetrics(deps.registry, bfdHost);
  const l2Status = new StatusWriter(client, opts.namespace, opts.nodeName, StatusKind.L2, slog, ownerPod.get);
  const bgpStatus = new StatusWriter(client, opts.namespace, opts.nodeName, StatusKind.Bgp, slog, ownerPod.get);
  const sessionStatus = new StatusWriter<SessionStateBody>(client, opts.namespace, opts.nodeName, StatusKind.Session, slog, ownerPod.get);
  const metrics = createSpeakerMetrics(deps.registry, { l2: () => announcer.counters(), election: () => election.stats, peers: () => bgp.status(), leaseWrites: () => store.writeCount }, opts.nodeName);
  // ConfigurationState speaker-<node>: written when the verdict changes.
  const configState = new ConfigurationStatePublisher({ client, namespace: opts.namespace, target: speakerState(opts.nodeName), owner: ownerPod.get, log: slog });

  /**
   * What follows an ownership change (ServiceL2Status, the announced metric, nodeAssigned Events)
   * is informational, and each sync walks every Service: once per VIP, a takeover of thousands
   * cost the speaker seconds of CPU and the apiserver three writes besides each Lease CAS, on the
   * failover path. So one sync per turn of the event loop covers every change that turn, and none
   * runs while takeover writes still wait in the queue: it catches up once they have gone out.
   */
  let ownershipSyncQueued = false;
  const assignedSinceSync = new Set<string>();
  function syncOwnershipSoon(): void {
    if (ownershipSyncQueued) return;
    ownershipSyncQueued = true;
    const run = (): void => {
      if (election.writeQueue.takeoversWaiting > 0 && !state.stopping) {
        clock.setTimeout(run, OWNERSHIP_SYNC_RETRY_MS);
        return;
      }
      ownershipSyncQueued = false;
      syncL2Status();
      syncAnnouncedMetric();
      for (const ip of assignedSinceSync) for (const svc of servicesWithIp(planned(), ip)) recordOn(svc, EventType.Normal, NODE_ASSIGNED, nodeAssignedMessage(opts.nodeName, 'layer2'));
      assignedSinceSync.clear();
    };
    setImmediate(run);
  }

  /** ServiceL2Status: Services with an IP this node announces right now. */
  function syncL2Status(): void {
    l2Status.set(l2Statuses(planned(), new Set(election.announced()), opts.nodeName));
  }
  /**
   * The BGP sessions: the plan's peers whose BFD gate is open (bfd-peers.ts), with their routes.
   * A held peer has its session closed, so our routes leave it.
   */
  function syncBgp(): void {
    const plan = state.plan;
    if (!plan || state.stopping) return;
    const allowed = bfd.allowed(plan.peers);
    const held = new Set(plan.peers.filter((p) => !allowed.includes(p)).map((p) => p.name));
    for (const name of held) {
      if (!state.heldForBfd.has(name)) slog.warn({ event: 'bgpHeldForBfd', peer: name }, 'BFD session Down: BGP session closed until BFD is Up again');
    }
    for (const peer of allowed) {
      if (state.heldForBfd.has(peer.name)) slog.info({ event: 'bgpReleasedByBfd', peer: peer.name, gate: bfd.gate(peer) }, 'BFD session Up: BGP session may run');
    }
    state.heldForBfd = held;
    bgp.sync(allowed, plan.bgpRoutes, state.routerId);
    syncSessionStates();
  }

  /** BGPSessionState: every peer of this node's plan, and each disabled one with its reason. */
  function syncSessionStates(): void {
    const plan = state.plan;
    if (!plan || state.stopping) return;
    const peerInformer = configInformers.find((c) => c.field === 'peers')?.inf;
    const disabled = new Map<string, DisabledPeer>();
    for (const [name, reason] of state.lastGood?.disabledPeers ?? []) {
      const spec = (peerInformer?.get(name, opts.namespace) as { spec?: { peerAddress?: unknown; vrf?: unknown } } | undefined)?.spec;
      disabled.set(name, {
        reason,
        ...(typeof spec?.peerAddress === 'string' ? { address: spec.peerAddress } : {}),
        ...(typeof spec?.vrf === 'string' ? { vrf: spec.vrf } : {}),
      });
    }
    sessionStatus.set(
      sessionStates({ node: opts.nodeName, peers: plan.peers, sessions: bgp.sessions(), heldForBfd: state.heldForBfd, bfdStatus: (p) => bfd.status(p), disabled }),
    );
  }

  /** A Warning Event on a BGPPeer. */
  function warnOnPeer(name: string, reason: string, message: string): void {
    const obj = configInformers.find((c) => c.field === 'peers')?.inf.get(name, opts.namespace);
    const ref = obj ? refTo(obj, 'BGPPeer', 'metallb.io/v1beta2') : { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', namespace: opts.namespace, name };
    recorder.record(ref, EventType.Warning, reason, message);
  }

  /** Warning Event and log line for each peer disabled anew or for a new reason (once per change). */
  function reportDisabledPeers(disabled: ReadonlyMap<string, string>): void {
    const notices = peerNotices(state.disabledReported, disabled);
    state.disabledReported = disabled;
    for (const [name, reason] of notices.disabled) {
      const message = peerDisabledMessage(opts.nodeName, reason);
      slog.warn({ event: PEER_DISABLED, peer: name, reason }, message);
      warnOnPeer(name, PEER_DISABLED, message);
    }
    for (const name of notices.enabled) slog.info({ event: 'peerEnabled', peer: name }, 'BGPPeer no longer disabled');
  }

  /**
   * Warning Event and log line for each single-hop eBGP peer of this node off its subnets
   * (peer-reachability.ts), once per change; interfaces are read again on every recompute.
   */
  function reportOffLinkPeers(peers: SpeakerPlan['peers']): void {
    const offLink = offLinkEbgpPeers(opts.nodeName, peers, (deps.connectedSubnets ?? hostSubnets)());
    const notices = peerNotices(state.notConnectedReported, offLink);
    state.notConnectedReported = offLink;
    for (const [name, message] of notices.disabled) {
      slog.warn({ event: PEER_NOT_CONNECTED, peer: name }, message);
      warnOnPeer(name, PEER_NOT_CONNECTED, message);
    }
    for (const name of notices.enabled) slog.info({ event: 'peerConnected', peer: name }, 'BGPPeer no longer a single-hop eBGP peer off the subnets of this node');
  }

  /** metallb_speaker_announced: the Services this node announces now, per protocol and IP. */
  function syncAnnouncedMetric(): void {
    metrics.setAnnounced(announcedSeries(planned(), new Set(election.announced())));
  }

  // --- informers --------------------------------------------------------------------------
  const schedule = (): void => {
    if (state.stopping || state.recomputeTimer) return;
    state.recomputeTimer = setTimeout(() => {
      state.recomputeTimer = undefined;
      recompute();
    }, RECOMPUTE_DEBOUNCE_MS);
  };
  const reload = new BurstDebouncer(clock, deps.reloadBounds ?? SPEAKER_CONFIG_RELOAD_BOUNDS, () => {
    state.configDirty = true;
    recompute();
  });
  const changes = new ConfigChangeFilter();
  const informer = <T extends KubeObject>(path: string, extra: Partial<Parameters<typeof createInformer<T>>[0]> = {}): Informer<T> =>
    createInformer<T>({ client, path, log: slog, onEvent: () => schedule(), ...extra });
  const services = informer<ServiceObject & KubeObject>('/api/v1/services');
  const slices = informer<EndpointSliceObject & KubeObject>('/apis/discovery.k8s.io/v1/endpointslices');
  const nodeSource = CONFIG_SOURCES.find((s) => s.field === 'nodes');
  const nodes = informer<NodeObject & KubeObject>('/api/v1/nodes', {
    onEvent: (ev, node) => {
      // Labels feed the parse (node selectors); addresses and conditions only the plan.
      if (nodeSource && changes.changed(nodeSource, ev, node)) reload.trigger();
      schedule();
    },
  });
  // Only changes a parse reads (spec, labels, Secret content) re-parse: not the controller's
  // status writes, one per IPAddressPool.
  const configInformers = CONFIG_SOURCES.filter((s) => s.field !== 'nodes').map((s) => ({
    field: s.field,
    inf: informer<KubeObject>(sourcePath(s, opts.namespace), {
      onEvent: (ev, o) => {
        if (changes.changed(s, ev, o)) reload.trigger();
      },
    }),
  }));
  const leases = createInformer<Lease>({
    client,
    path: `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`,
    labelSelector: `${LeaseLabel.ManagedBy}=metallb-ts`,
    log: slog,
    onEvent: (ev, lease) => {
      if (ev === 'delete') election.onLeaseDeleted(lease);
      else election.onLease(lease);
      // Presence changes alter the live-speaker set, hence the candidates. A renewal that leaves
      // the set as the last plan saw it changes nothing: replanning on each one cost a SHA-256
      // per VIP and node (the ranking) on every renewal of every node, two full replans a second
      // per speaker at 20 nodes. A lapse is still seen at the next renewal of any node, as before.
      if (lease.metadata?.labels?.[LeaseLabel.Kind] === 'speaker' && liveKey(election.liveSpeakers()) !== state.plannedLive) schedule();
    },
    onRestart: () => {
      state.apiHealthySince = now();
      schedule();
    },
    onError: () => {
      state.apiHealthySince = undefined;
    },
  });
  const all: Informer<KubeObject>[] = [services, slices, nodes, leases, ...configInformers.map((c) => c.inf)];
  const synced = (): boolean => all.every((i) => i.hasSynced());

  /** Parse the configuration; the one in force afterwards (the last valid one), if any. */
  function loadConfig(): Config | undefined {
    const t0 = clock.now();
    const resources: Record<string, unknown[]> = { nodes: [...nodes.list()] };
    for (const c of configInformers) resources[c.field] = [...c.inf.list()];
    // Upstream's pre-filter: peers and BGPAdvertisements for other nodes are left out, so a
    // broken peer meant for another node does not invalidate this node's configuration.
    const parsed = parseConfig(forNode(resources as ConfigResources, nodes.get(opts.nodeName)?.metadata?.labels ?? {}));
    metrics.config.update();
    metrics.config.configStale(!parsed.ok);
    const assessed = assessConfig(state.reported, parsed);
    state.reported = assessed.reported;
    configState.publish(assessed.verdict);
    // Warnings (a password Secret ending in a newline) are said once per change, or the only
    // trace is a session that never comes up.
    if (assessed.newWarnings) slog.warn({ event: 'configWarning', warnings: assessed.newWarnings }, 'configuration accepted with warnings');
    if (parsed.ok) {
      state.lastGood = parsed.config;
      reportDisabledPeers(parsed.config.disabledPeers);
      metrics.config.configLoaded(true);
      slog.info({ event: 'configLoaded', ...configCounts(parsed.config), parseMs: Math.round(clock.now() - t0) }, 'configuration parsed');
    } else {
      metrics.config.updateError();
      if (assessed.newErrors !== undefined) slog.error({ event: 'configInvalid', errors: parsed.errors.length, summary: assessed.newErrors }, 'invalid configuration; keeping the last good one');
    }
    metrics.config.parsed(clock.now() - t0);
    return state.lastGood;
  }

  function recompute(): void {
    if (!synced()) return;
    try {
      if (state.configDirty) {
        loadConfig();
        state.configDirty = false;
      }
      const config = state.lastGood;
      if (!config) return;
      const nodeViews = new Map<string, NodeView>();
      for (const n of nodes.list()) nodeViews.set(n.metadata?.name ?? '', nodeView(n));
      const liveSpeakers = election.liveSpeakers();
      state.plannedLive = liveKey(liveSpeakers);
      const plan = planSpeaker({
        me: opts.nodeName,
        config,
        nodes: nodeViews,
        services: services.list(),
        endpoints: endpointsByService(slices.list()),
        lbClass: opts.lbClass,
        ignoreExcludeLB: opts.ignoreExcludeLB,
        liveSpeakers,
      });
      state.plan = plan;
      election.setDesired(plan.l2);
      state.routerId = nodeIpv4(nodes.get(opts.nodeName)) ?? routerIdFromName(opts.nodeName);
      reportOffLinkPeers(plan.peers);
      bfd.sync(plan.peers, config.bfdProfiles);
      syncBgp();
      bgpStatus.set(bgpStatuses(plan.services.values(), plan.peers, opts.nodeName));
      syncL2Status();
      const assigned = diffBgpAssigned(state.bgpAssigned, plan.services.values());
      for (const svc of assigned.assigned) recordOn(svc, EventType.Normal, NODE_ASSIGNED, nodeAssignedMessage(opts.nodeName, 'bgp'));
      for (const key of assigned.withdrawn) slog.info({ event: 'bgpWithdraw', service: key }, 'withdrawing BGP routes of service');
      state.bgpAssigned = assigned.current;
      syncAnnouncedMetric();
      state.ready = true;
    } catch (err) {
      // A bug in one recompute must not take announcements down; the next event retries.
      slog.error({ event: 'recomputeFailed', err: errorMessage(err) }, 'recompute failed');
    }
  }

  return {
    election,
    async start(): Promise<void> {
      await Promise.all([...all.map((i) => i.start()), l2Status.start(), bgpStatus.start(), sessionStatus.start()]);
      if (leases.hasSynced()) state.apiHealthySince = now();
      election.start();
      schedule();
    },
    async stop(graceful: boolean): Promise<void> {
      state.stopping = true;
      reload.stop();
      if (state.recomputeTimer) clearTimeout(state.recomputeTimer);
      if (graceful) {
        await election.handover();
        await l2Status.clear();
      } else election.stop();
      await Promise.all([...all.map((i) => i.stop()), l2Status.stop(), bgpStatus.stop(), sessionStatus.stop()]);
      bfd.stop();
      await bgp.stop();
      // After BGP: AdminDown tells the routers BFD was switched off, not that the path died.
      await bfdHost.close();
      // The sessions are closed and the routes withdrawn: this node advertises nothing now.
      if (graceful) await Promise.all([bgpStatus.clear(), sessionStatus.clear()]);
    },
    plan: () => state.plan,
    healthy: () => ({ ok: true }),
    ready: () => (state.ready ? { ok: true } : { ok: false, reason: synced() ? 'no valid configuration yet' : 'informers not synced' }),
  };
}
