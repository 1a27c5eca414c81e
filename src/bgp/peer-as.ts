/**
 * The peer's AS as a session knows it: a number, or upstream FRR mode's `dynamicASN`, which
 * takes the AS from the peer's OPEN and only checks which side of our AS it is on. FRR renders
 * that as `neighbor X remote-as internal|external` (`internal/bgp/frr/config.go` `asnFor` in
 * metallb/metallb) and bgpd's OPEN check (`bgp_open_receive`) refuses the other kind with
 * OPEN Message Error / Bad Peer AS (RFC 4271 §6.2). Pure.
 */
import { BgpError, NotificationCode, OpenSubcode } from './errors';

/** `dynamicASN` values (BGPPeer v1beta2 `DynamicASNMode`). */
export const DynamicAsn = {
  /** The peer must be in our AS (iBGP). */
  Internal: 'internal',
  /** The peer must be in another AS (eBGP). */
  External: 'external',
} as const;
export type DynamicAsn = (typeof DynamicAsn)[keyof typeof DynamicAsn];

/** The AS expected from the peer: a number, or a dynamic rule resolved by its OPEN. */
export type PeerAsn = number | DynamicAsn;

/**
 * True when the session is iBGP. `localAsn` is the AS the peer sees (upstream's localASN when
 * set), so a dynamic rule alone decides it before any OPEN: internal is iBGP, external eBGP.
 */
export function isIbgp(localAsn: number, peerAsn: PeerAsn): boolean {
  if (peerAsn === DynamicAsn.Internal) return true;
  if (peerAsn === DynamicAsn.External) return false;
  return peerAsn === localAsn;
}

/** How the expected AS reads in logs and errors. */
export function describePeerAsn(peerAsn: PeerAsn): string {
  return typeof peerAsn === 'number' ? String(peerAsn) : `${peerAsn} (dynamic)`;
}

/**
 * Check the AS the peer announced (its 4-octet AS capability, else the OPEN's My AS field)
 * against what we expect; undefined when acceptable, else the NOTIFICATION to send:
 * OPEN Message Error / Bad Peer AS (RFC 4271 §6.2).
 */
export function checkPeerAs(localAsn: number, expected: PeerAsn, announced: number): BgpError | undefined {
  const ok = expected === DynamicAsn.Internal ? announced === localAsn : expected === DynamicAsn.External ? announced !== localAsn : announced === expected;
  if (ok) return undefined;
  const want =
    expected === DynamicAsn.Internal ? `our AS ${localAsn} (dynamicASN internal)` : expected === DynamicAsn.External ? `an AS other than our ${localAsn} (dynamicASN external)` : String(expected);
  return new BgpError(NotificationCode.OpenMessage, OpenSubcode.BadPeerAs, `unexpected peer AS ${announced}, want ${want}`);
}
