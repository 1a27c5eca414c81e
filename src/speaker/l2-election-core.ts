/**
 * The pure part of the L2 election (the shell is l2-election.ts): its timing, and the rules that
 * turn what this node has observed into the facts `decideVip` needs. Every time here is this
 * node's monotonic clock (src/util/clock.ts): a Lease record is timed from when this node first
 * saw it, as client-go's leader election does, so neither clock skew between nodes nor a step of
 * the wall clock can expire a live holder early.
 */
import { leaseExpired, type LeaseView } from './lease-decision';

/** Timing knobs (flags with documented defaults; see docs/l2.md and the chart's values). */
export interface ElectionTiming {
  /** Lease duration; a holder silent this long is considered gone by the API. Default 30 s. */
  leaseDurationMs: number;
  /** How often a holder renews its Leases and its presence. Default 10 s. */
  renewIntervalMs: number;
  /** Probe period of the first successor. Default 100 ms. */
  probeIntervalMs: number;
  /** Probe answer deadline. Default 80 ms (the period minus 20 ms). */
  probeTimeoutMs: number;
  /** Consecutive misses that prove the holder dead on the wire. Default 4. */
  probeMisses: number;
  /** Re-evaluation tick. Default 1 s. */
  tickMs: number;
}

/**
 * The defaults (measured choice in docs/speaker.md, failure detection): a probe every 100 ms
 * while the holder answers; after a miss, re-probed at once, so 4 misses take 4 × 80 ms. A hard
 * failure is detected 320-420 ms after it and served elsewhere one Lease write and one gratuitous
 * frame later; a holder frozen whole (SIGSTOP, a VM pause) or starved for less than 320 ms, or
 * merely slow (its ARP answers come from their own thread), keeps its VIPs.
 * Steady-state cost: nodes/10 s writes.
 */
export const DEFAULT_ELECTION_TIMING: ElectionTiming = {
  leaseDurationMs: 30_000,
  renewIntervalMs: 10_000,
  probeIntervalMs: 100,
  probeTimeoutMs: 80,
  probeMisses: 4,
  tickMs: 1_000,
};

/** An interface selection as a comparable string: 'all' (an empty list means all too), or the sorted names. */
export type InterfaceKey = string;

/** The comparable form of an interface selection. */
export function interfaceKey(interfaces: 'all' | readonly string[]): InterfaceKey {
  return interfaces === 'all' || interfaces.length === 0 ? 'all' : `=${[...interfaces].sort().join(',')}`;
}

/** A Lease record as far as expiry goes: who holds it and its renewTime, as written. */
export interface LeaseRecord {
  readonly holder: string | null | undefined;
  readonly renewTime: string | null | undefined;
}

/**
 * When this node saw `next`: at `nowMs` if it is a new record (another holder or another
 * renewTime), else when the unchanged record was first seen. An informer resync or an unrelated
 * update (annotations) must not make a silent holder look fresh.
 */
export function observedAt(prev: LeaseRecord | undefined, prevObservedAtMs: number, next: LeaseRecord, nowMs: number): number {
  const same = prev !== undefined && prev.holder === next.holder && prev.renewTime === next.renewTime;
  return same ? prevObservedAtMs : nowMs;
}

/**
 * Nodes whose presence Lease is fresh (memberlist's replacement). `presence` maps each node to the
 * view of its presence Lease; `deadOnWire` maps a node our probes proved dead to when that was.
 * Such a node is no candidate while its presence has not expired yet, unless it renewed presence
 * after we saw it fail. `me` is alive by definition, even before our own presence is visible.
 */
export function liveSpeakersOf(presence: ReadonlyMap<string, { readonly view: LeaseView }>, deadOnWire: ReadonlyMap<string, number>, me: string, nowMs: number): Set<string> {
  const live = new Set<string>();
  for (const [node, { view }] of presence) {
    if (view.holder !== node || leaseExpired(view, nowMs)) continue;
    const deadAt = deadOnWire.get(node);
    if (deadAt !== undefined && view.renewTimeMs <= deadAt) continue;
    live.add(node);
  }
  live.add(me);
  return live;
}

/**
 * How long after its last probe a holder is probed again. After a miss the probe timeout already
 * was the wait: probe again at once, so detection takes misses × timeout, not misses × a timer
 * period that jitter could stretch by whole ticks. After an answer, wait one period; a timer
 * firing a little early still counts, or it would skip a whole period (seen as a +250 ms failover
 * mode).
 */
export function probeWaitMs(misses: number, probeIntervalMs: number): number {
  return misses > 0 ? 0 : probeIntervalMs - Math.min(25, probeIntervalMs / 10);
}

/**
 * Our own hold of a Lease has lapsed: no write of ours landed within a lease duration (or none
 * ever did, `lastOwnWriteMs` -Infinity), so the API may already have handed it on without us
 * seeing it (cut off from the API server).
 */
export function ownHoldLapsed(lastOwnWriteMs: number, leaseDurationMs: number, nowMs: number): boolean {
  return nowMs - lastOwnWriteMs > leaseDurationMs;
}

/**
 * Whether this node's Lease writes get through, as far as judging other holders goes. A watch can
 * stay open while every write fails (etcd down behind a live API server, a 5xx storm): holders
 * cannot renew then, and a node that only looked at its watch would find their Leases unrenewed
 * once writes work again and take them before their first renewal lands. So failing writes, or
 * one hanging longer than a renew interval, are an outage like a broken watch.
 */
export interface WriteHealth {
  /** The last write answered with an error other than a conflict (a conflict is an answer). */
  readonly failing: boolean;
  /** When the last stretch of failing or hanging writes ended; -Infinity if there was none. */
  readonly troubleEndedMs: number;
}

/** Before any write: nothing failed (the watch's own health covers the start). */
export const HEALTHY_WRITES: WriteHealth = { failing: false, troubleEndedMs: -Infinity };

/** The health after a write that started at `startedMs` was answered at `nowMs`. */
export function afterWrite(h: WriteHealth, answered: boolean, startedMs: number, nowMs: number, stallMs: number): WriteHealth {
  if (!answered) return { failing: true, troubleEndedMs: h.troubleEndedMs };
  if (h.failing || nowMs - startedMs > stallMs) return { failing: false, troubleEndedMs: nowMs };
  return h;
}

/**
 * How long writes have worked without interruption: 0 while they fail or one has hung for more
 * than `stallMs` (`oldestInFlightMs`, undefined when none is in flight).
 */
export function writesHealthyForMs(h: WriteHealth, oldestInFlightMs: number | undefined, nowMs: number, stallMs: number): number {
  if (h.failing) return 0;
  if (oldestInFlightMs !== undefined && nowMs - oldestInFlightMs > stallMs) return 0;
  return nowMs - h.troubleEndedMs;
}

/** A Lease's resourceVersion as a number (etcd's revision; 0 when absent). */
function revisionOf(lease: { readonly metadata?: { readonly resourceVersion?: string } } | undefined): number {
  return Number(lease?.metadata?.resourceVersion ?? 0);
}

/**
 * The Lease view to keep after one of our writes answered with `written` (undefined for a
 * delete). A write's answer and the watch travel on different connections, so the watch can
 * deliver a later write by another node (`current`) before our answer arrives. Taking the answer
 * then would put an older record over the newer one, and no further event would correct it: a
 * node whose view names itself holder after a successor took the Lease announces for as long as
 * nobody writes that Lease again (seen as two MACs answering for one VIP after a link flap).
 */
export function laterLease<L extends { readonly metadata?: { readonly resourceVersion?: string } }>(current: L | undefined, written: L | undefined, base: L | undefined): L | undefined {
  if (written === undefined) return current !== undefined && revisionOf(current) > revisionOf(base) ? current : undefined;
  return current !== undefined && revisionOf(current) > revisionOf(written) ? current : written;
}

