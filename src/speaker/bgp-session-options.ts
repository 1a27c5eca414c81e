/**
 * A BGPPeer's AS and address-family settings as BGP session options, with upstream FRR mode's
 * meaning (docs/bgp.md "FRR-mode peer settings"): `peerASN` or `dynamicASN`, `localASN` as
 * `local-as N no-prepend replace-as`, `dualStackAddressFamily`, and `disableMP`, which upstream
 * deprecated as a no-op. Pure; the input is structural so it does not depend on how the config
 * layer spells the rest of a peer.
 */
import { sessionFamilies } from '../bgp/families';
import type { DynamicAsn, PeerAsn } from '../bgp/peer-as';
import type { Family } from '../bgp/codec';

/** The BGPPeer fields this mapping reads, named as in upstream's v1beta2 BGPPeerSpec. */
export interface PeerSessionFields {
  readonly myASN: number;
  /** 0 or absent when `dynamicASN` is used (upstream's omitempty zero). */
  readonly peerASN?: number | undefined;
  readonly dynamicASN?: DynamicAsn | undefined;
  /** 0 or absent: the peer sees myASN. */
  readonly localASN?: number | undefined;
  readonly peerAddress: string;
  readonly dualStackAddressFamily?: boolean | undefined;
  /** Deprecated upstream and without effect in FRR mode; accepted and ignored. */
  readonly disableMP?: boolean | undefined;
}

/** The session options these fields decide. */
export interface PeerSessionOptions {
  peerAsn: PeerAsn;
  localAsn: number;
  families: Family[];
}

/** The options, or why the peer cannot have a session (upstream's config error text). */
export type PeerSessionOptionsResult = { ok: true; options: PeerSessionOptions } | { ok: false; reason: string };

/** Map a peer's AS and family settings to session options. */
export function peerSessionOptions(peer: PeerSessionFields): PeerSessionOptionsResult {
  const peerASN = peer.peerASN ?? 0;
  // Same checks and wording as upstream's `internal/config/config.go` (peerFromCR).
  if (peerASN === 0 && peer.dynamicASN === undefined) return { ok: false, reason: 'missing peer ASN and dynamicASN' };
  if (peerASN !== 0 && peer.dynamicASN !== undefined) return { ok: false, reason: 'both peer ASN and dynamicASN specified' };
  return {
    ok: true,
    options: {
      peerAsn: peer.dynamicASN ?? peerASN,
      // replace-as + no-prepend: the peer never sees myASN, neither in the OPEN nor in the
      // AS_PATH of our (locally originated) routes; no-prepend only concerns routes received.
      localAsn: peer.localASN !== undefined && peer.localASN !== 0 ? peer.localASN : peer.myASN,
      // disableMP does nothing here: upstream's webhook warns "disable mp is deprecated and has
      // no effect since it's the default behavior now", and its FRR templates never read it.
      families: sessionFamilies(peer.peerAddress, peer.dualStackAddressFamily === true),
    },
  };
}
