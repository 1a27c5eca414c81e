/** What the L2 election (l2-election.ts) keeps per VIP and per probed holder. */
import type { Lease } from '../k8s/lease';
import type { InterfaceKey } from './l2-election-core';
import type { VipDesire } from './l2-election-types';

/** One VIP as this node's election sees and serves it. */
export interface VipState {
  desire: VipDesire | undefined;
  lease: Lease | undefined;
  /** When (this node's monotonic clock) the current (holder, renewTime) record was first seen. */
  observedAtMs: number;
  announcing: boolean;
  /** The interface selection the data plane announces on ('' while nothing is announced). */
  announcedOn: InterfaceKey;
  writing: boolean;
  /** Settles when the Lease write in flight (if any) has landed and `lease` reflects it. */
  written: Promise<void>;
  /** Set after a live speaker claimed the VIP while our own hold had lapsed. */
  yielded: boolean;
  /** When we last re-announced the VIP against a claim; -Infinity before the first. */
  lastDefenceMs: number;
  /** When our last successful write of this Lease landed; -Infinity before the first. */
  lastOwnWriteMs: number;
  /**
   * Set while this VIP is handed to another node and we still answer for it: for good once a
   * graceful stop starts, until the overlap ends for a rebalance (l2-rebalancer.ts).
   */
  handingOver: boolean;
}

/** A VIP nothing is known of yet. */
export function newVipState(): VipState {
  return { desire: undefined, lease: undefined, observedAtMs: 0, announcing: false, announcedOn: '', writing: false, written: Promise.resolve(), yielded: false, lastDefenceMs: -Infinity, lastOwnWriteMs: -Infinity, handingOver: false };
}

/** Probing of one holder by its first successor. */
export interface HolderProbe {
  misses: number;
  inFlight: boolean;
  /** When the last probe went out; -Infinity before the first. */
  lastMs: number;
}
