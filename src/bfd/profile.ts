/**
 * BFDProfile (metallb.io/v1beta1, `api/v1beta1/bfdprofile_types.go` in metallb/metallb) to
 * session parameters, with upstream's defaults (300 ms, 300 ms, x3, minimumTtl 254: FRR's bfdd
 * defaults, which upstream's FRR mode inherits). Pure: the speaker calls it per peer.
 */
import { bfdEchoRefusal } from '../config/bfd-and-communities';
import type { BfdProfile } from '../config/types';
import type { BfdSessionConfig } from './bfd-session';

/** Upstream / FRR defaults for fields a profile leaves unset. */
export const BFD_PROFILE_DEFAULTS = {
  receiveIntervalMs: 300,
  transmitIntervalMs: 300,
  detectMultiplier: 3,
  minimumTtl: 254,
} as const;

/** The outcome of mapping a profile: session settings, or why this profile cannot run. */
export type BfdProfileMapping = { ok: true; config: BfdSessionConfig } | { ok: false; reason: string };

/** What the session needs besides the profile. */
export interface BfdPeerInfo {
  peerAddress: string;
  localAddress?: string;
  /** eBGP multihop peer: RFC 5883 session on port 4784 instead of RFC 5881 single-hop. */
  multihop: boolean;
}

/**
 * Map one profile for one peer. echoMode is refused: the Echo function (RFC 5880 §6.4) sends
 * packets addressed to this node that the peer's forwarding plane loops back, which needs
 * link-layer injection beside our UDP sockets; docs/bfd.md explains the choice.
 */
export function sessionConfigFromProfile(profile: BfdProfile, peer: BfdPeerInfo): BfdProfileMapping {
  if (profile.echoMode) {
    // The configuration already disables such a peer, in these words.
    return { ok: false, reason: bfdEchoRefusal(profile.name) };
  }
  return {
    ok: true,
    config: {
      peerAddress: peer.peerAddress,
      ...(peer.localAddress !== undefined ? { localAddress: peer.localAddress } : {}),
      multihop: peer.multihop,
      params: {
        desiredMinTxMs: profile.transmitIntervalMs ?? BFD_PROFILE_DEFAULTS.transmitIntervalMs,
        requiredMinRxMs: profile.receiveIntervalMs ?? BFD_PROFILE_DEFAULTS.receiveIntervalMs,
        detectMult: profile.detectMultiplier ?? BFD_PROFILE_DEFAULTS.detectMultiplier,
        passive: profile.passiveMode,
      },
      minimumTtl: profile.minimumTtl ?? BFD_PROFILE_DEFAULTS.minimumTtl,
    },
  };
}
