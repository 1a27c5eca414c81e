/**
 * The TTL check on received BFD Control packets (GTSM, RFC 5082), as a pure verdict so the rule
 * is tested apart from sockets. Every BFD packet is sent with TTL 255.
 */

/** The TTL every BFD packet is sent with, and the only one single-hop accepts. */
export const BFD_TTL = 255;

/**
 * Why a datagram that arrived with `ttl` must be discarded, or undefined when it passes.
 * Single-hop (RFC 5881 §5): only 255, so the sender is on the link. Multihop (RFC 5883 §5): the
 * hop count is not known, so 255 cannot be required; the session's `minimumTtl` (the BFDProfile's,
 * as FRR's bfdd `minimum-ttl`) bounds how far away the sender may be.
 */
export function ttlRefusal(multihop: boolean, ttl: number, minimumTtl: number): string | undefined {
  if (!multihop) return ttl === BFD_TTL ? undefined : `single-hop packet with TTL ${ttl}, want ${BFD_TTL}`;
  return ttl >= minimumTtl ? undefined : `multihop packet with TTL ${ttl}, minimum ${minimumTtl}`;
}
