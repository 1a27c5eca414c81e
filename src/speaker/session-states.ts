/**
 * The BGPSessionState objects this node should have (docs/bgp.md "Session state"): one per BGPPeer
 * selected for the node, including the disabled ones, so `kubectl get bgpsessionstates -A` answers
 * "is my peering up" without logs. Kind and fields follow frr-k8s's BGPSessionState
 * (`api/v1beta1/bgp_session_state_types.go` in metallb/frr-k8s) in the metallb.io group, plus the
 * BGPPeer's name, the last error and when the session came up.
 *
 * Writes stay bounded: every value here changes only on a session transition (Established, down,
 * held or released by BFD, a BFD state change, a configuration change), never per message or
 * keepalive; the states a peer that is down cycles through while retrying (Idle, Connect, OpenSent)
 * are all shown as Active, and uptime is a timestamp, not a counter.
 */
import { crc32 } from 'node:zlib';
import type { Peer } from '../config/types';
import type { DesiredStatuses } from './status-objects';
import type { SessionView } from './bgp-peers';
import { NO_BFD } from './bfd-peers';

/** The values of `bgpStatus`. Established and Active are FRR's (and frr-k8s's) names. */
export const SessionStatus = {
  Established: 'Established',
  /** Trying to reach the peer: connecting, exchanging OPENs, or waiting to retry. */
  Active: 'Active',
  /** Held closed because its BFD session went down (bfd-peers.ts). */
  Idle: 'Idle',
  /** The BGPPeer is not served by this speaker; `lastError` says why. */
  Disabled: 'Disabled',
} as const;
export type SessionStatus = (typeof SessionStatus)[keyof typeof SessionStatus];

/** The status of one BGPSessionState. */
export interface SessionStateBody {
  node: string;
  /** The BGPPeer's name. */
  bgpPeer: string;
  /** The peer's address, as frr-k8s's `peer`; '' when the BGPPeer has none. */
  peer: string;
  /** '' for the default VRF, as frr-k8s writes it. */
  vrf: string;
  bgpStatus: SessionStatus;
  bfdStatus: string;
  lastError?: string;
  /** RFC 3339, whole seconds. */
  establishedSince?: string;
}

/** A disabled BGPPeer: why, and what its object says of address and vrf. */
export interface DisabledPeer {
  readonly reason: string;
  readonly address?: string;
  readonly vrf?: string;
}

/** Everything the objects are computed from. */
export interface SessionFacts {
  readonly node: string;
  /** The usable BGPPeers selected for this node (the plan's). */
  readonly peers: readonly Peer[];
  /** The live BGP sessions by peer name. */
  readonly sessions: ReadonlyMap<string, SessionView>;
  /** Peers whose session is held closed until their BFD session is up. */
  readonly heldForBfd: ReadonlySet<string>;
  /** A peer's BFD state (bfd-peers.ts `status`). */
  readonly bfdStatus: (peer: Peer) => string;
  /** Disabled BGPPeers of this node, by name. */
  readonly disabled: ReadonlyMap<string, DisabledPeer>;
}

/** Why a held peer's session is closed. */
export const HELD_FOR_BFD_ERROR = 'BFD session down: BGP session held closed until BFD is up';
/** Why a usable peer has no session (bgp-peers.ts skips it). */
export const UNSUPPORTED_PEER_ERROR = 'no address or ASN this speaker can use';

const LABEL_VALUE_MAX = 63;

/**
 * The `metallb.io/peer` label value of a BGPPeer: its name, which is also a valid label value up to
 * 63 characters; a longer one is cut and suffixed with its CRC-32, so it stays unique and valid.
 */
export function peerLabelValue(name: string): string {
  if (name.length <= LABEL_VALUE_MAX) return name;
  const sum = (crc32(Buffer.from(name)) >>> 0).toString(16).padStart(8, '0');
  return `${name.slice(0, LABEL_VALUE_MAX - 9)}-${sum}`;
}

/** RFC 3339 in whole seconds, as Kubernetes writes its own timestamps. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The desired BGPSessionStates, keyed by peer label value. */
export function sessionStates(f: SessionFacts): DesiredStatuses<SessionStateBody> {
  const desired: DesiredStatuses<SessionStateBody> = new Map();
  for (const peer of f.peers) {
    const base = { node: f.node, bgpPeer: peer.name, peer: peer.address ?? '', vrf: '', bfdStatus: f.bfdStatus(peer) };
    const session = f.sessions.get(peer.name);
    let body: SessionStateBody;
    if (f.heldForBfd.has(peer.name)) body = { ...base, bgpStatus: SessionStatus.Idle, lastError: HELD_FOR_BFD_ERROR };
    else if (!session) body = { ...base, bgpStatus: SessionStatus.Disabled, lastError: UNSUPPORTED_PEER_ERROR };
    else if (session.established) {
      body = { ...base, bgpStatus: SessionStatus.Established, ...(session.establishedSinceMs !== undefined ? { establishedSince: rfc3339(session.establishedSinceMs) } : {}) };
    } else body = { ...base, bgpStatus: SessionStatus.Active, ...(session.lastError !== undefined ? { lastError: session.lastError } : {}) };
    desired.set(peerLabelValue(peer.name), body);
  }
  for (const [name, d] of f.disabled) {
    desired.set(peerLabelValue(name), {
      node: f.node,
      bgpPeer: name,
      peer: d.address ?? '',
      vrf: d.vrf ?? '',
      bgpStatus: SessionStatus.Disabled,
      bfdStatus: NO_BFD,
      lastError: d.reason,
    });
  }
  return desired;
}
