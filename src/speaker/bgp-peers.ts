/**
 * The BGP side of the speaker: one BgpSession per BGPPeer selected for this node, kept in step
 * with the config, fed with the routes for that peer. Unlike upstream native mode (which resets a
 * session on any change to the peer object, docs/upstream-behaviour.md §5.1), a session is reset
 * only when its own parameters change; route changes go out as incremental UPDATEs (the adj-RIB-out
 * diff).
 */
import { crc32 } from 'node:zlib';
import type { BgpSession, BgpSessionConfig } from '../bgp/session';
import type { DownReason } from '../bgp/fsm';
import { BgpPeerManager, type PeerSpec } from '../bgp/peer-manager';
import type { RouteAttributes } from '../bgp/adj-rib-out';
import type { Community, Peer } from '../config/types';
import type { Logger } from '../util/log';
import { RouterWatch } from '../bgp/router-discovery';
import { errorMessage } from '../util/errors';
import { routesForPeer, type ServiceRoute } from './bgp-routes';
import { peerSessionOptions } from './bgp-session-options';

/** Restart time advertised with graceful restart (RFC 4724 §3); FRR's default is 120 s too. */
export const GRACEFUL_RESTART_TIME_SEC = 120;
/** Upstream native's hold time when the peer sets none (docs/upstream-behaviour.md §5.1). */
export const DEFAULT_HOLD_TIME_SEC = 90;
/** Connect retry when the peer sets no connectTime. */
export const DEFAULT_CONNECT_TIME_SEC = 10;

/**
 * Upstream's router-ID fallback when neither routerID nor an IPv4 node address is known: CRC-32
 * (IEEE) of the node name, little-endian (vectors: node-a -> 171.77.153.120).
 */
export function routerIdFromName(node: string): string {
  const c = crc32(Buffer.from(node)) >>> 0;
  return [c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, (c >>> 24) & 0xff].join('.');
}

/**
 * BGPPeer -> session config. `fallbackRouterId` is the node's IPv4 (or CRC fallback). An
 * `interface` peer needs `routerAddress`, the router's zoned link-local learnt from its RAs
 * (router-discovery.ts); it carries both families, IPv4 over Extended Next Hop, as FRR's
 * interface neighbors do.
 */
export function sessionConfig(peer: Peer, fallbackRouterId: string, routerAddress?: string): BgpSessionConfig | undefined {
  const iface = peer.interface;
  const address = iface !== undefined ? routerAddress : peer.address;
  if (!address) return undefined;
  const asAndFamilies = peerSessionOptions({ ...peer, peerAddress: address, ...(iface !== undefined ? { dualStackAddressFamily: true } : {}) });
  if (!asAndFamilies.ok) return undefined;
  return {
    peerAddress: address,
    ...(iface !== undefined ? { interface: iface } : {}),
    peerPort: peer.port,
    ...asAndFamilies.options,
    routerId: peer.routerID ?? fallbackRouterId,
    holdTimeSec: peer.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC,
    ...(peer.keepaliveTimeSec !== undefined ? { keepaliveTimeSec: peer.keepaliveTimeSec } : {}),
    connectTimeSec: peer.connectTimeSec ?? DEFAULT_CONNECT_TIME_SEC,
    ...(peer.password ? { password: peer.password } : {}),
    ...(peer.sourceAddress ? { sourceAddress: peer.sourceAddress } : {}),
    ebgpMultiHop: peer.ebgpMultiHop,
    ...(peer.enableGracefulRestart ? { gracefulRestart: { restartTimeSec: GRACEFUL_RESTART_TIME_SEC } } : {}),
  };
}

/** Our route attributes from the config's communities. */
export function routeAttributes(localPref: number, communities: readonly Community[]): RouteAttributes {
  const std = communities.filter((c) => c.kind === 'standard').map((c) => c.value);
  const large = communities.filter((c) => c.kind === 'large').map((c) => ({ globalAdmin: c.globalAdmin, localData1: c.localData1, localData2: c.localData2 }));
  return {
    // Upstream native sends LOCAL_PREF 0 to iBGP peers when unset; unset here means the BGP
    // library's iBGP default of 100 (RFC 4271 §5.1.5 leaves it to policy; 100 is what every
    // router assumes), and the session sends it to iBGP peers only.
    ...(localPref > 0 ? { localPref } : {}),
    ...(std.length > 0 ? { communities: std } : {}),
    ...(large.length > 0 ? { largeCommunities: large } : {}),
  };
}

/** Per-peer session state for metrics. */
export interface PeerStatus {
  readonly name: string;
  readonly label: string;
  readonly up: boolean;
  readonly prefixes: number;
  readonly updatesSent: number;
  readonly desired: number;
  readonly notificationsSent: number;
  /** Warnings about the peer's messages by event, logged or folded by the rate limit. */
  readonly warnings: Readonly<Record<string, number>>;
}

/** One session as the BGPSessionState objects show it (session-states.ts). */
export interface SessionView {
  readonly address: string;
  readonly established: boolean;
  /** Wall-clock milliseconds at which it became Established; undefined while it is not. */
  readonly establishedSinceMs?: number;
  /** Why it last went down or failed to come up; cleared when it is Established. */
  readonly lastError?: string;
}

/** The text of a session's DownReason for users; undefined for our own stop. */
export function describeDown(reason: DownReason): string | undefined {
  switch (reason.kind) {
    case 'notificationSent':
      return `sent NOTIFICATION: ${reason.text}`;
    case 'notificationReceived':
      return `received NOTIFICATION: ${reason.text}`;
    case 'tcpFailed':
      return reason.error;
    case 'connectTimeout':
      return 'TCP connect timed out';
    case 'stopped':
      return undefined;
  }
}

/** Options of {@link BgpPeers}. */
export interface BgpPeersOptions {
  /** A session became Established or went down (never called per message or keepalive). */
  readonly onSessionChange?: () => void;
  /** Wall-clock milliseconds for `establishedSinceMs`; default Date.now. */
  readonly wallNow?: () => number;
  /** Router discovery for an unnumbered peer's interface; default a RouterWatch on raw sockets. */
  readonly newWatch?: (ifname: string, log: Logger) => RouterWatch;
}

interface SessionHistory {
  establishedSinceMs?: number;
  lastError?: string;
}

/** Maps the configuration onto the BGP library's peer manager. */
export class BgpPeers {
  private readonly manager: BgpPeerManager;
  private desiredCounts = new Map<string, number>();
  /** Router discovery per interface peer name (unnumbered), kept across syncs. */
  private readonly watches = new Map<string, RouterWatch>();
  private last: { peers: readonly Peer[]; routes: readonly ServiceRoute[]; fallbackRouterId: string } | undefined;
  /** Peer name -> since when Established, and the last error; survives a session reset. */
  private readonly history = new Map<string, SessionHistory>();
  private readonly newWatch: (ifname: string, log: Logger) => RouterWatch;

  constructor(
    private readonly log: Logger,
    private readonly opts: BgpPeersOptions = {},
  ) {
    this.newWatch = opts.newWatch ?? ((ifname, l) => new RouterWatch(ifname, { log: l }));
    this.manager = new BgpPeerManager({ log }, (name, session) => this.watch(name, session));
  }

  /** Follow one new session's transitions: Established and down, nothing per message. */
  private watch(name: string, session: BgpSession): void {
    session.on('established', () => {
      if (this.manager.all.get(name) !== session) return;
      this.history.set(name, { establishedSinceMs: (this.opts.wallNow ?? Date.now)() });
      this.opts.onSessionChange?.();
    });
    session.on('down', (reason: DownReason) => {
      if (this.manager.all.get(name) !== session) return;
      const before = this.history.get(name) ?? {};
      const lastError = describeDown(reason) ?? before.lastError;
      this.history.set(name, lastError === undefined ? {} : { lastError });
      this.opts.onSessionChange?.();
    });
  }

  /** Start or stop router discovery so exactly the interface peers have one. */
  private syncWatches(peers: readonly Peer[]): void {
    const wanted = new Map(peers.filter((p) => p.interface !== undefined).map((p) => [p.name, p.interface!]));
    for (const [name, w] of this.watches) {
      if (wanted.get(name) !== w.ifname) {
        w.stop();
        this.watches.delete(name);
      }
    }
    for (const [name, ifname] of wanted) {
      if (this.watches.has(name)) continue;
      const w = this.newWatch(ifname, this.log.child({ peer: name }));
      // A new or changed router address re-runs the last sync: that starts or resets the session.
      w.on('router', () => {
        if (this.last) this.sync(this.last.peers, this.last.routes, this.last.fallbackRouterId);
      });
      try {
        w.start();
        this.watches.set(name, w);
      } catch (err) {
        this.log.warn({ event: 'routerWatchFailed', peer: name, iface: ifname, err: errorMessage(err) }, 'cannot watch the interface for the router; unnumbered peer skipped');
      }
    }
  }

  /** Bring sessions in line with `peers` and give each its routes. */
  sync(peers: readonly Peer[], routes: readonly ServiceRoute[], fallbackRouterId: string): void {
    this.last = { peers, routes, fallbackRouterId };
    this.syncWatches(peers);
    const specs: PeerSpec[] = [];
    for (const peer of peers) {
      const router = this.watches.get(peer.name)?.router;
      if (peer.interface !== undefined && router === undefined) continue; // no RA from the router yet
      const config = sessionConfig(peer, fallbackRouterId, router);
      if (config) specs.push({ name: peer.name, config });
      else this.log.warn({ event: 'bgpPeerUnsupported', peer: peer.name }, 'peer has no address or ASN this speaker can use; skipped');
    }
    const result = this.manager.reconcile(specs);
    for (const name of result.reset) this.log.info({ event: 'bgpSessionReset', peer: name }, 'session parameters changed; session reset');
    for (const name of result.stopped) this.log.info({ event: 'bgpPeerRemoved', peer: name }, 'closed session of removed peer');
    this.desiredCounts = new Map();
    const live = new Set(specs.map((s) => s.name));
    for (const name of this.history.keys()) if (!live.has(name)) this.history.delete(name);
    for (const { name } of specs) {
      const attrs = new Map<string, RouteAttributes>();
      for (const [prefix, route] of routesForPeer(name, routes)) attrs.set(prefix, routeAttributes(route.localPref, route.communities));
      this.desiredCounts.set(name, attrs.size);
      this.manager.setRoutes(name, attrs);
    }
  }

  /** Status of each session, for metrics. */
  status(): PeerStatus[] {
    return [...this.manager.all].map(([name, s]) => ({
      name,
      label: `${s.config.peerAddress}:${s.config.peerPort ?? 179}`,
      up: s.state === 'Established',
      prefixes: s.counters.prefixesAnnounced,
      updatesSent: s.counters.updatesSent,
      desired: this.desiredCounts.get(name) ?? 0,
      notificationsSent: s.counters.notificationsSent,
      warnings: s.counters.warnings,
    }));
  }

  /** Each live session, by peer name, for the BGPSessionState objects. */
  sessions(): Map<string, SessionView> {
    const views = new Map<string, SessionView>();
    for (const [name, s] of this.manager.all) {
      const h = this.history.get(name) ?? {};
      const established = s.state === 'Established';
      views.set(name, {
        address: s.config.peerAddress,
        established,
        ...(established && h.establishedSinceMs !== undefined ? { establishedSinceMs: h.establishedSinceMs } : {}),
        ...(!established && h.lastError !== undefined ? { lastError: h.lastError } : {}),
      });
    }
    return views;
  }

  /** Close every session (Cease, administrative shutdown). */
  stop(): Promise<void> {
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    this.last = undefined;
    return this.manager.stopAll();
  }
}
