/**
 * What the speaker says about disabled BGPPeers (src/config/peers.ts): a Warning Event on the
 * BGPPeer and a log line, each time a peer becomes disabled or its reason changes, so a
 * configuration change is reported once and a reparse that changes nothing says nothing.
 */

/** Event reason and log event of a disabled peer. */
export const PEER_DISABLED = 'peerDisabled';

/** The Event text: which node skips the peer, and why. */
export function peerDisabledMessage(node: string, reason: string): string {
  return `BGPPeer skipped on node ${node}, no session is opened: ${reason}`;
}

/** {@link peerNotices}' answer. */
export interface PeerNotices {
  /** Peers disabled anew, or for another reason than last reported: name, reason. */
  readonly disabled: readonly (readonly [string, string])[];
  /** Peers reported disabled before and not any more. */
  readonly enabled: readonly string[];
}

/** The difference between the disabled peers last reported and the current ones. */
export function peerNotices(reported: ReadonlyMap<string, string>, current: ReadonlyMap<string, string>): PeerNotices {
  const disabled = [...current].filter(([name, reason]) => reported.get(name) !== reason);
  const enabled = [...reported.keys()].filter((name) => !current.has(name));
  return { disabled, enabled };
}
