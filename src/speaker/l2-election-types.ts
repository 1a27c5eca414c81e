/** The interfaces of the L2 election (l2-election.ts): its dependencies, data plane, input and counters. */
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { ElectionTiming } from './l2-election-core';
import type { RebalanceOptions } from './l2-rebalance';
import type { LeaseStore } from './lease-store';
import type { WriteBudget } from './lease-write-queue';

/** Dependencies of the election. */
export interface ElectionDeps {
  me: string;
  store: LeaseStore;
  dataPlane: L2DataPlane;
  log: Logger;
  timing: ElectionTiming;
  /** Timers and monotonic time; real ones by default. */
  clock?: Clock;
  /** When the Lease watch last became healthy, on `clock`; undefined while it is broken. */
  apiHealthySince: () => number | undefined;
  /** Called when this node starts or stops announcing a VIP (status objects, events, metrics). */
  onOwnership?: (ip: string, owned: boolean) => void;
  /** A stranger claims a VIP we hold (a Warning Event); as rate limited as its log line. */
  onForeignClaim?: (ip: string, mac: string) => void;
  /** Pace of VIP Lease writes; DEFAULT_WRITE_BUDGET (lease-write-queue.ts) by default. */
  writeBudget?: WriteBudget;
  /** Opt-in rebalance toward the ranked owner (l2-rebalance.ts); off when absent. */
  rebalance?: RebalanceOptions;
}

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
  /** VIPs this node handed back to their ranked owner (opt-in rebalance, l2-rebalancer.ts). */
  rebalances: number;
  /** Frames claiming a VIP we hold for a MAC no live speaker published, per VIP. */
  foreignClaims: Record<string, number>;
}
