/**
 * BFD for the speaker's BGP peers (docs/bfd.md "Speaker wiring"): one BFD session per BGPPeer
 * with a `bfdProfile` (RFC 5881 single-hop on 3784, RFC 5883 multihop on 4784 when
 * `ebgpMultiHop`), with the profile's timers, and a gate the BGP side asks before running the
 * peer's session.
 *
 * The gate is deliberately simple. BFD going Down (from Up) closes the peer's BGP session at once
 * (our routes leave the peer with it, RFC 5882 §4.3), and the session stays closed until BFD is Up
 * again, then reconnects by the normal rules: a path BFD calls dead never carries routes. Before
 * its BFD session has ever been Up, a BGP session runs as if it had no profile, because some
 * routers (FRR among them) bring a neighbor's BFD session up only once BGP is Established;
 * waiting for BFD first would deadlock with them. RFC 5882 §3.2: a peer that says AdminDown has
 * switched BFD off, which says nothing about forwarding, so that Down leaves BGP alone.
 */
import type { BfdDownInfo, BfdSession } from '../bfd/bfd-session';
import type { BfdManager } from '../bfd/bfd-manager';
import { sessionConfigFromProfile } from '../bfd/profile';
import type { BfdSessionConfig } from '../bfd/bfd-session';
import type { BfdProfile, Peer } from '../config/types';
import { BfdState } from '../bfd/codec';
import { errorMessage } from '../util/errors';
import type { Logger } from '../util/log';

/** The part of a BfdManager the wiring uses (tests pass a fake). */
export type BfdSessionHost = Pick<BfdManager, 'ensureSession' | 'removeSession' | 'session'>;

/** Why a BGP session is held back, for logs. */
export const BfdGate = {
  /** No bfdProfile: nothing to wait for. */
  NoBfd: 'noBfd',
  Up: 'up',
  /** The peer said AdminDown (RFC 5882 §3.2): BGP may run. */
  RemoteAdminDown: 'remoteAdminDown',
  /** BFD has not been Up yet: BGP runs meanwhile (see the file comment). */
  NotYetUp: 'notYetUp',
  /** BFD went Down and is not Up again: the BGP session is closed. */
  Down: 'down',
} as const;
export type BfdGate = (typeof BfdGate)[keyof typeof BfdGate];

/** frr-k8s's bfdStatus for a peer without BFD. */
export const NO_BFD = 'N/A';

const BFD_STATE_NAMES: Record<BfdState, string> = {
  [BfdState.AdminDown]: 'shutdown',
  [BfdState.Down]: 'down',
  [BfdState.Init]: 'init',
  [BfdState.Up]: 'up',
};

interface Wanted {
  readonly key: string;
  readonly config: BfdSessionConfig;
}

/** The BFD session a peer should have, or undefined (no profile, no address, or refused). */
export function bfdSessionFor(peer: Peer, profiles: ReadonlyMap<string, BfdProfile>): BfdSessionConfig | undefined {
  if (peer.bfdProfile === undefined || peer.address === undefined) return undefined;
  const profile = profiles.get(peer.bfdProfile);
  if (!profile) return undefined;
  const mapped = sessionConfigFromProfile(profile, {
    peerAddress: peer.address,
    ...(peer.sourceAddress !== undefined ? { localAddress: peer.sourceAddress } : {}),
    multihop: peer.ebgpMultiHop,
  });
  return mapped.ok ? mapped.config : undefined;
}

function keyOf(c: BfdSessionConfig): string {
  return `${c.peerAddress}|${c.multihop ? 'multihop' : 'single-hop'}`;
}

/** Dependencies of {@link BfdPeers}. */
export interface BfdPeersDeps {
  readonly host: BfdSessionHost;
  readonly log: Logger;
  /** A session went Up or Down: the BGP side must look at the gates again, now. */
  readonly onChange: () => void;
}

/** Keeps the BFD sessions in line with the peers, and answers the gate. */
export class BfdPeers {
  /** Session key -> config we asked for. */
  private readonly running = new Map<string, BfdSessionConfig>();
  /** Sessions that went Down from Up (not by the peer's AdminDown) and are not Up again. */
  private readonly down = new Set<string>();
  /** Sessions whose peer last said AdminDown and that are not Up again. */
  private readonly adminDown = new Set<string>();
  private readonly listened = new WeakSet<BfdSession>();
  /** Peer name -> its session key, from the last sync. */
  private byPeer = new Map<string, Wanted>();
  private stopped = false;

  constructor(private readonly deps: BfdPeersDeps) {}

  /** Start, retime or remove sessions so that exactly the peers' BFD sessions run. */
  sync(peers: readonly Peer[], profiles: ReadonlyMap<string, BfdProfile>): void {
    if (this.stopped) return;
    const byPeer = new Map<string, Wanted>();
    const wanted = new Map<string, BfdSessionConfig>();
    for (const peer of peers) {
      const config = bfdSessionFor(peer, profiles);
      if (!config) continue;
      const key = keyOf(config);
      byPeer.set(peer.name, { key, config });
      // Two peers on one address (different ports) share one BFD session, as in FRR.
      wanted.set(key, config);
    }
    this.byPeer = byPeer;
    for (const [key, config] of this.running) {
      if (wanted.has(key)) continue;
      this.running.delete(key);
      this.down.delete(key);
      this.adminDown.delete(key);
      this.deps.host.removeSession(config.peerAddress, config.multihop).catch((err: unknown) => {
        this.deps.log.warn({ event: 'bfdRemoveFailed', peer: config.peerAddress, err: errorMessage(err) }, 'could not remove the BFD session');
      });
    }
    for (const [key, config] of wanted) {
      const before = this.running.get(key);
      if (before && JSON.stringify(before) === JSON.stringify(config)) continue;
      this.running.set(key, config);
      this.ensure(key, config);
    }
  }

  private ensure(key: string, config: BfdSessionConfig): void {
    // An existing session takes new timers by a Poll Sequence, never a reset (bfd-manager.ts).
    this.deps.host.ensureSession(config).then(
      (session) => {
        if (this.stopped || this.running.get(key) !== config) return;
        if (this.listened.has(session)) return;
        this.listened.add(session);
        session.on('up', () => {
          this.down.delete(key);
          this.adminDown.delete(key);
          this.deps.onChange();
        });
        session.on('down', (d: BfdDownInfo) => {
          (d.remoteAdminDown ? this.adminDown : this.down).add(key);
          this.deps.onChange();
        });
        // It may have come Up before the listeners were attached.
        if (session.up) this.deps.onChange();
      },
      (err: unknown) => {
        // Port 3784/4784 taken (another BFD daemon on the node) or no source port: BGP runs
        // without BFD (never Up), and the next sync tries again.
        if (this.running.get(key) === config) this.running.delete(key);
        this.deps.log.error({ event: 'bfdSessionFailed', peer: config.peerAddress, err: errorMessage(err) }, 'could not start the BFD session; the BGP session waits for it');
      },
    );
  }

  /** May the BGP session of this peer run? */
  gate(peer: Peer): BfdGate {
    const wanted = this.byPeer.get(peer.name);
    if (!wanted) return BfdGate.NoBfd;
    const session = this.deps.host.session(wanted.config.peerAddress, wanted.config.multihop);
    if (session?.up) return BfdGate.Up;
    if (this.down.has(wanted.key)) return BfdGate.Down;
    return this.adminDown.has(wanted.key) ? BfdGate.RemoteAdminDown : BfdGate.NotYetUp;
  }

  /**
   * The peer's BFD session state in FRR's words (`show bfd peers`: up, down, init, shutdown), as
   * frr-k8s's BGPSessionState shows it; N/A without a bfdProfile, down when it could not start.
   */
  status(peer: Peer): string {
    const wanted = this.byPeer.get(peer.name);
    if (!wanted) return NO_BFD;
    const state = this.deps.host.session(wanted.config.peerAddress, wanted.config.multihop)?.state;
    return state === undefined ? 'down' : BFD_STATE_NAMES[state];
  }

  /** The peers whose BGP session may run now. */
  allowed(peers: readonly Peer[]): Peer[] {
    return peers.filter((p) => this.gate(p) !== BfdGate.Down);
  }

  /** No more syncs or change notices (the host is closed by its owner). */
  stop(): void {
    this.stopped = true;
  }
}
