/** The interfaces of the L2 election (l2-election.ts): its data plane, its input and its counters. */

/** What the election needs from the ARP/NDP layer (src/arp). */
export interface L2DataPlane {
  /**
   * Announce `ip` on `interfaces` (every call restarts the gratuitous burst). False when none of
   * them exists on this node: nothing is announced, and the election asks again on its next
   * tick (the interface may appear).
   */
  announce(ip: string, interfaces: 'all' | readonly string[]): boolean;
  withdraw(ip: string): void;
  /**
   * Send a gratuitous round for an announced `ip` now and restart its burst, defending it against
   * a claim (absent: claims are only counted and reported).
   */
  reannounce?(ip: string): void;
  /**
   * Unicast ARP request / NS for `ip` to `mac`; true when the owner answered in time, false when
   * it did not, undefined when no probe could be sent (no usable interface): not a miss.
   */
  probe(ip: string, mac: string, timeoutMs: number): Promise<boolean | undefined>;
  /**
   * `iface -> mac` of the interfaces that serve `ip` for this selection (the Lease annotation a
   * successor probes): not every MAC of the node, since only a serving interface answers.
   */
  localMacs(ip: string, interfaces: 'all' | readonly string[]): Map<string, string>;
}

/** What the reconcile wants for one VIP. */
export interface VipDesire {
  readonly ranked: readonly string[];
  readonly interfaces: 'all' | readonly string[];
}

/** Counters for metrics. */
export interface ElectionStats {
  transitions: number;
  takeovers: number;
  leaseWrites: number;
  conflictsLost: number;
  /** Frames claiming a VIP we hold for a MAC no live speaker published, per VIP. */
  foreignClaims: Record<string, number>;
}
