/**
 * What the speaker loop (speaker-loop.ts) remembers between events, apart from its informers and
 * writers: the plan in force, the last good configuration and what was already reported.
 */
import type { Config } from '../config/types';
import type { ConfigReport } from '../config/verdict';
import type { SpeakerPlan } from './speaker-plan';

/** Everything the loop remembers between events. */
export interface LoopState {
  plan: SpeakerPlan | undefined;
  /** The last valid configuration: an invalid one leaves it in force. */
  lastGood: Config | undefined;
  /** What was last logged about the configuration (once per change). */
  reported: ConfigReport;
  /** A plan has been applied. */
  ready: boolean;
  /** Services advertised over BGP by the last recompute, for `nodeAssigned`. */
  bgpAssigned: ReadonlySet<string>;
  /** IP -> the interface selection whose announce failure was reported. */
  announceFailures: Map<string, string>;
  /** Disabled BGPPeers (name -> why) already reported by Event and log. */
  disabledReported: ReadonlyMap<string, string>;
  /** Single-hop eBGP peers off the node's subnets (name -> warning) already reported. */
  notConnectedReported: ReadonlyMap<string, string>;
  /** Peers whose BGP session is held closed until their BFD session is Up. */
  heldForBfd: ReadonlySet<string>;
  /** This node's BGP router ID fallback, from the last recompute. */
  routerId: string;
  /** When the Lease watch last became healthy; undefined while it is broken. */
  apiHealthySince: number | undefined;
  recomputeTimer: NodeJS.Timeout | undefined;
  /** The live-speaker set the last plan was made with (sorted names), see {@link liveKey}. */
  plannedLive: string | undefined;
  /** A configuration change arrived since the last parse (true until the first one). */
  configDirty: boolean;
  /**
   * Shutdown began: informer events that arrive while we hand over or stop must not schedule a
   * recompute, or bgp.sync() would re-open the sessions bgp.stop() just closed.
   */
  stopping: boolean;
}

/** A live-speaker set as one comparable string. */
export function liveKey(live: ReadonlySet<string>): string {
  return [...live].sort().join(',');
}
