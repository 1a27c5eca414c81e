/**
 * Types shared by the router wrappers (FRR, BIRD, GoBGP, OpenBGPD, ExaBGP) that tests start in
 * lab namespaces. Each wrapper writes a generated config into its own directory under lab.dir,
 * starts the daemon in the foreground through `lab.spawn` (so lab.destroy kills it), and waits
 * for readiness by polling with a deadline.
 */
import { readdirSync } from 'node:fs';
import type { Family, Lab } from '../lab';

export type { Family } from '../lab';

/** One BGP neighbor as seen from the router being configured. */
export interface PeerSpec {
  /** Neighbor IP address (IPv4 or IPv6). */
  readonly address: string;
  readonly remoteAs: number;
  /** TCP MD5 key (RFC 2385). */
  readonly password?: string;
  /** eBGP multihop TTL. */
  readonly multihop?: number;
  /** Address families to activate; default: the neighbor address's own family. */
  readonly families?: readonly Family[];
  /** Never connect out; only accept. */
  readonly passive?: boolean;
  /** Remote TCP port when not 179 (FRR and BIRD only). */
  readonly port?: number;
}

/** Timers every router uses unless told otherwise: short, so tests converge fast (docs/architecture.md §9.2). */
export const DEFAULT_HOLD_TIME_SEC = 9;
export const DEFAULT_KEEPALIVE_SEC = 3;

/** The family of an IP address literal. */
export function familyOf(address: string): Family {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/** The families to activate for a peer. */
export function peerFamilies(peer: PeerSpec): readonly Family[] {
  return peer.families ?? [familyOf(peer.address)];
}

/** Prefix length implied by a prefix string without one (/32 or /128). */
export function withPrefixLen(prefix: string): string {
  return prefix.includes('/') ? prefix : `${prefix}/${familyOf(prefix) === 'ipv6' ? 128 : 32}`;
}

/** Shared shape of every router handle. */
export interface RouterHandle {
  readonly ns: string;
  /** The router's own directory (config, logs, sockets). */
  readonly dir: string;
  /** Stop the daemon(s) by PID: SIGTERM, then SIGKILL after a grace period. Idempotent. */
  stop(): Promise<void>;
}

/** Create a fresh directory `base`, `base-2`, … under lab.dir, so two instances never share one. */
export function uniqueDir(lab: Lab, base: string): string {
  const taken = new Set(readdirSync(lab.dir));
  let name = base;
  for (let i = 2; taken.has(name); i += 1) name = `${base}-${i}`;
  return lab.subdir(name);
}
