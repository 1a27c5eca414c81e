/** The public types of the L2 announcer (announcer.ts): its options, events and counters. */
import type { GarpTiming } from './garp-schedule';
import type { L2System } from './l2-system';
import type { DropReason } from './responder';
import type { Logger } from '../util/log';
import type { Clock } from '../util/clock';

/** Options for `L2Announcer`. */
export interface L2AnnouncerOptions {
  logger: Logger;
  /** Gratuitous burst and refresh; defaults in DEFAULT_GARP_TIMING. */
  garp?: Partial<GarpTiming>;
  /** Interface-name regexes never served (upstream's excludel2); default: the chart's list. */
  excludeInterfaces?: readonly string[];
  /** Rescan interfaces this often (upstream: 10 s); 0 = only on demand. */
  rescanIntervalMs?: number;
  /** Real time by default, with unref'd timers: a pending GARP refresh never keeps a process alive. */
  clock?: Clock;
  /** Interface listing and packet sockets; the native addon by default. */
  system?: L2System;
}

/** Emitted when another station claims an IP we announce on that interface. */
export interface ConflictEvent {
  ip: string;
  mac: string;
  interface: string;
}

/** Cumulative counts since start, per IP where upstream labels by IP. */
export interface L2Counters {
  /** metallb_layer2_requests_received: ARP requests / NS for announced IPs, answered. */
  requestsReceived: Record<string, number>;
  /** metallb_layer2_responses_sent. */
  responsesSent: Record<string, number>;
  /** metallb_layer2_gratuitous_sent: frames (an IPv4 round is two frames, as upstream). */
  gratuitousSent: Record<string, number>;
  framesReceived: number;
  dropped: Record<DropReason, number>;
  /** Undecodable frames by BadFrame reason. */
  badFrames: Record<string, number>;
  conflicts: number;
  /** Frames claiming an IP we announce, per IP (metallb_speaker_l2_conflicts_total). */
  conflictsByIp: Record<string, number>;
  sendErrors: number;
  probesSent: number;
}

/** Options for `L2Announcer.probe`. */
export interface ProbeOptions {
  /** Resolve false after this long without an answer (default 1000 ms). */
  timeoutMs?: number;
  /** Interfaces to probe on (default: every eligible one for the IP's family). */
  interfaces?: 'all' | readonly string[];
}
