/**
 * A session's configuration, counters and socket factory: what the speaker passes in and reads
 * back. Kept apart from the session shell (session.ts) so that one stays about I/O and events.
 */
import net from 'node:net';
import type { Family } from './codec';
import { sessionFamilies } from './families';
import type { FsmConfig } from './fsm';
import { isIbgp } from './peer-as';
import type { PeerAsn } from './peer-as';
import { createTcpSocketFd } from '../native';
import { errorMessage } from '../util/errors';
import type { Logger } from '../util/log';

/** Everything that defines a peering; changing any of it (but the next hops) resets the session. */
export interface BgpSessionConfig {
  /** For an unnumbered peer, the router's link-local address with its zone (`fe80::1%eth0`). */
  peerAddress: string;
  /**
   * Unnumbered peering (upstream's BGPPeer `interface`): the link the peer is on. Implies
   * Extended Next Hop (RFC 8950) so IPv4 routes go out with IPv6 next hops.
   */
  interface?: string;
  /** Default 179. */
  peerPort?: number;
  /**
   * The peer's AS, or `internal`/`external` to take it from the peer's OPEN (upstream's
   * dynamicASN; the other kind is refused with Bad Peer AS).
   */
  peerAsn: PeerAsn;
  /**
   * The AS the peer sees, in our OPEN and as the only AS in our AS_PATH: upstream's localASN
   * when set (`local-as N no-prepend replace-as`), else myASN. iBGP is `peerAsn === localAsn`.
   */
  localAsn: number;
  routerId: string;
  holdTimeSec: number;
  keepaliveTimeSec?: number;
  connectTimeSec: number;
  /** TCP MD5 key (RFC 2385); never logged. */
  password?: string;
  sourceAddress?: string;
  /** TTL 255 instead of 1 for eBGP (iBGP keeps the kernel default). */
  ebgpMultiHop: boolean;
  /** Advertise RFC 4724 graceful restart with this restart time. */
  gracefulRestart?: { restartTimeSec: number };
  /**
   * Families to negotiate and send. Default: the peer address's own family only, as upstream
   * FRR mode (families.ts); both with dualStackAddressFamily.
   */
  families?: Family[];
  /** Next hop overrides; by default the connection's local addresses are used. */
  nextHopIpv4?: string;
  nextHopIpv6?: string;
  /**
   * Reconnect backoff; default 1 s doubling to 2 min, failure count forgotten after 5 min
   * Established (docs/bgp.md "Reconnect damping").
   */
  backoff?: { initialMs: number; maxMs: number; stableMs?: number };
}

/** Counters for metrics. */
export interface BgpSessionCounters {
  messagesSent: number;
  messagesReceived: number;
  updatesSent: number;
  updatesReceived: number;
  /** Prefixes the peer currently has from us. */
  prefixesAnnounced: number;
  /** Announcements and withdrawals sent since start (per prefix). */
  prefixAnnouncementsSent: number;
  prefixWithdrawalsSent: number;
  notificationsSent: number;
  notificationsReceived: number;
  establishedTransitions: number;
  /** ROUTE-REFRESH requests (subtype 0, negotiated family) received. */
  routeRefreshesReceived: number;
  /** Of those, requests folded into a resend already wanted. */
  routeRefreshesFolded: number;
  /** Warnings about the peer's messages by event (updateError, decodeError, ...), logged or folded. */
  warnings: Record<string, number>;
}

/** Fresh counters. */
export function zeroCounters(): BgpSessionCounters {
  return {
    messagesSent: 0,
    messagesReceived: 0,
    updatesSent: 0,
    updatesReceived: 0,
    prefixesAnnounced: 0,
    prefixAnnouncementsSent: 0,
    prefixWithdrawalsSent: 0,
    notificationsSent: 0,
    notificationsReceived: 0,
    establishedTransitions: 0,
    routeRefreshesReceived: 0,
    routeRefreshesFolded: 0,
    warnings: {},
  };
}

/** The result of updateConfig. */
export type ConfigChange = { reset: false; routesResent: boolean } | { reset: true };

/** The families a configuration negotiates. */
export function configFamilies(cfg: BgpSessionConfig): Family[] {
  return cfg.families ?? sessionFamilies(cfg.peerAddress, false);
}

/** The FSM's view of a configuration. */
export function fsmConfig(cfg: BgpSessionConfig): FsmConfig {
  return {
    localAsn: cfg.localAsn,
    peerAsn: cfg.peerAsn,
    routerId: cfg.routerId,
    holdTimeSec: cfg.holdTimeSec,
    keepaliveTimeSec: cfg.keepaliveTimeSec,
    connectTimeSec: cfg.connectTimeSec,
    families: configFamilies(cfg),
    ...(cfg.interface !== undefined ? { extendedNextHop: true } : {}),
    gracefulRestart: cfg.gracefulRestart,
    // FRR's numbers: bgpd's idle-hold ("start") timer begins at 1 s and doubles to 120 s.
    backoff: cfg.backoff ?? { initialMs: 1000, maxMs: 120_000 },
  };
}

/** Session parameters: everything except the next-hop overrides, which only change routes. */
export function sessionParams(cfg: BgpSessionConfig): unknown {
  const { nextHopIpv4: _a, nextHopIpv6: _b, ...rest } = cfg;
  return { ...rest, peerPort: rest.peerPort ?? 179, families: configFamilies(cfg) };
}

/** TTL for the socket: 1 for single-hop eBGP (RFC 4271 §8 GTSM-style safety), 255 for multihop. */
export function socketTtl(cfg: BgpSessionConfig): number | undefined {
  if (isIbgp(cfg.localAsn, cfg.peerAsn)) return undefined;
  return cfg.ebgpMultiHop ? 255 : 1;
}

/** The default socket factory: native fd when options must precede connect, else plain net. */
export function defaultConnect(cfg: BgpSessionConfig, log: Logger): net.Socket {
  const family = cfg.peerAddress.includes(':') ? 6 : 4;
  const port = cfg.peerPort ?? 179;
  const ttl = socketTtl(cfg);
  if (cfg.password !== undefined || ttl !== undefined) {
    try {
      const fd = createTcpSocketFd({
        family,
        localAddress: cfg.sourceAddress,
        ttl,
        md5: cfg.password !== undefined ? [{ peer: cfg.peerAddress, key: cfg.password }] : undefined,
      });
      return new net.Socket({ fd, readable: true, writable: true }).connect(port, cfg.peerAddress);
    } catch (err) {
      // MD5 cannot be faked: without the addon the session must not connect unauthenticated.
      if (cfg.password !== undefined) throw err;
      log.warn({ event: 'ttlUnavailable', err: errorMessage(err) }, 'cannot set the socket TTL; using the kernel default');
    }
  }
  return net.connect({ host: cfg.peerAddress, port, localAddress: cfg.sourceAddress, family });
}
