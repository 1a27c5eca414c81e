/**
 * The BGP side of the speaker: one BgpSession per BGPPeer selected for this node, kept in step
 * with the config, fed with the routes for that peer. Unlike upstream native mode (which resets a
 * session on any change to the peer object, metallb-spec.md §5.1), a session is reset only when
 * its own parameters change; route changes go out as incremental UPDATEs (the adj-RIB-out diff).
 */
import { crc32 } from 'node:zlib';
import { BgpSession, type BgpSessionConfig } from '../bgp/session';
import type { RouteAttributes } from '../bgp/adj-rib-out';
import type { Community, Peer } from '../config/types';
import type { Logger } from '../util/log';
import { routesForPeer, type ServiceRoute } from './bgp-routes';

/** Restart time advertised with graceful restart (RFC 4724 §3); FRR's default is 120 s too. */
export const GRACEFUL_RESTART_TIME_SEC = 120;
/** Upstream native's hold time when the peer sets none (metallb-spec.md §5.1). */
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

/** BGPPeer -> session config. `fallbackRouterId` is the node's IPv4 (or CRC fallback). */
export function sessionConfig(peer: Peer, fallbackRouterId: string): BgpSessionConfig | undefined {
  if (!peer.address) return undefined;
  const peerAsn = peer.peerASN !== 0 ? peer.peerASN : peer.dynamicASN === 'internal' ? peer.myASN : 0;
  if (peerAsn === 0) return undefined;
  return {
    peerAddress: peer.address,
    peerPort: peer.port,
    peerAsn,
    localAsn: peer.myASN,
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
    // Upstream sends LOCAL_PREF 0 to iBGP peers when unset; we send it only when configured, and
    // the session applies RFC 4271's iBGP-only rule.
    ...(localPref > 0 ? { localPref } : {}),
    ...(std.length > 0 ? { communities: std } : {}),
    ...(large.length > 0 ? { largeCommunities: large } : {}),
  };
}

interface Running {
  session: BgpSession;
  peer: Peer;
}

/** Per-peer session state for metrics. */
export interface PeerStatus {
  readonly name: string;
  readonly label: string;
  readonly up: boolean;
  readonly prefixes: number;
  readonly updatesSent: number;
  readonly desired: number;
}

/** Keeps one session per selected peer. */
export class BgpPeers {
  private readonly running = new Map<string, Running>();
  private desiredCounts = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly makeSession: (cfg: BgpSessionConfig, log: Logger) => BgpSession = (cfg, log) => new BgpSession(cfg, { log }),
  ) {}

  /** Bring sessions in line with `peers` and give each its routes. */
  sync(peers: readonly Peer[], routes: readonly ServiceRoute[], fallbackRouterId: string): void {
    const wanted = new Map(peers.map((p) => [p.name, p]));
    for (const [name, r] of this.running) {
      if (!wanted.has(name)) {
        this.log.info({ event: 'bgpPeerRemoved', peer: name }, 'closing session of removed peer');
        void r.session.stop();
        this.running.delete(name);
      }
    }
    for (const peer of peers) {
      const cfg = sessionConfig(peer, fallbackRouterId);
      if (!cfg) {
        this.log.warn({ event: 'bgpPeerUnsupported', peer: peer.name }, 'peer has no address or ASN this speaker can use (unnumbered or dynamicASN external); skipped');
        continue;
      }
      const have = this.running.get(peer.name);
      if (have) {
        const change = have.session.updateConfig(cfg);
        if (change.reset) this.log.info({ event: 'bgpSessionReset', peer: peer.name }, 'session parameters changed; session reset');
        have.peer = peer;
      } else {
        const session = this.makeSession(cfg, this.log.child({ peer: peer.name }));
        session.start();
        this.running.set(peer.name, { session, peer });
      }
    }
    this.desiredCounts = new Map();
    for (const [name, r] of this.running) {
      const table = routesForPeer(name, routes);
      const attrs = new Map<string, RouteAttributes>();
      for (const [prefix, route] of table) attrs.set(prefix, routeAttributes(route.localPref, route.communities));
      this.desiredCounts.set(name, attrs.size);
      r.session.setRoutes(attrs);
    }
  }

  /** Status of each session, for metrics. */
  status(): PeerStatus[] {
    return [...this.running].map(([name, r]) => ({
      name,
      label: `${r.session.config.peerAddress}:${r.session.config.peerPort ?? 179}`,
      up: r.session.state === 'Established',
      prefixes: r.session.counters.prefixesAnnounced,
      updatesSent: r.session.counters.updatesSent,
      desired: this.desiredCounts.get(name) ?? 0,
    }));
  }

  /** Close every session. */
  async stop(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.session.stop()));
    this.running.clear();
  }
}
