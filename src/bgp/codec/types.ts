/**
 * The BGP message model shared by the codec, the FSM and the Adj-RIB-out. Plain data only:
 * prefixes are strings ('10.0.0.1/32', 'fd00::1/128') in canonical form (host bits zero,
 * IPv6 per RFC 5952), so messages compare with deep equality.
 */
import type { AttrIssue } from '../errors';

/** BGP message types (RFC 4271 §4.1, RFC 2918 §3 for ROUTE-REFRESH). */
export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const;

/** Address family identifiers (IANA). */
export const Afi = { Ipv4: 1, Ipv6: 2 } as const;
/** Subsequent address family identifiers (IANA). */
export const Safi = { Unicast: 1 } as const;

/** Path attribute type codes (IANA "BGP Path Attributes"). */
export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  LargeCommunities: 32,
} as const;

/** Attribute flag bits (RFC 4271 §4.3). */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

/** ORIGIN values (RFC 4271 §5.1.1). */
export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;
export type Origin = (typeof Origin)[keyof typeof Origin];

/** AS_PATH segment types (RFC 4271 §4.3, RFC 5065 for the confederation ones). */
export const AsPathSegmentType = { AsSet: 1, AsSequence: 2, ConfedSequence: 3, ConfedSet: 4 } as const;

/** Capability codes (IANA "Capability Codes"). */
export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedNextHop: 5,
  GracefulRestart: 64,
  FourOctetAs: 65,
} as const;

/** AS_TRANS, what a 4-octet AS puts in 2-octet fields (RFC 6793 §9). */
export const AS_TRANS = 23456;
/** The only BGP version (RFC 4271 §4.2). */
export const BGP_VERSION = 4;
/** RFC 4271 §4.1: the header is 19 octets, a message at most 4096. */
export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;

/** An address family, e.g. { afi: 2, safi: 1 } for IPv6 unicast. */
export interface Family {
  afi: number;
  safi: number;
}

/** What the codec must know about the session: set once the OPENs are exchanged. */
export interface CodecContext {
  /** Both sides sent the 4-octet AS capability (RFC 6793): AS_PATH carries 4-byte ASNs. */
  fourOctetAs: boolean;
}

/** One capability (RFC 5492) as advertised in OPEN. */
export type Capability =
  | { kind: 'multiprotocol'; afi: number; safi: number }
  | { kind: 'routeRefresh' }
  | { kind: 'fourOctetAs'; asn: number }
  /**
   * Extended Next Hop Encoding (RFC 8950 §3): NLRI of (afi, safi) may carry a next hop of
   * `nextHopAfi`, e.g. IPv4 unicast routes with an IPv6 next hop.
   */
  | { kind: 'extendedNextHop'; tuples: Array<{ afi: number; safi: number; nextHopAfi: number }> }
  | {
      kind: 'gracefulRestart';
      /** R bit: the sender has restarted (RFC 4724 §3). */
      restarting: boolean;
      /** N bit: graceful notification support (RFC 8538 §2). */
      notification: boolean;
      restartTimeSec: number;
      families: Array<{ afi: number; safi: number; forwardingPreserved: boolean }>;
    }
  | { kind: 'unknown'; code: number; value: Buffer };

/** OPEN (RFC 4271 §4.2). `myAs` is the 2-octet field (AS_TRANS for 4-octet ASNs). */
export interface OpenMessage {
  type: typeof MessageType.Open;
  version: number;
  myAs: number;
  holdTimeSec: number;
  bgpIdentifier: string;
  capabilities: Capability[];
}

/** One AS_PATH segment. */
export interface AsPathSegment {
  type: number;
  asns: number[];
}

/** A large community (RFC 8092): three 32-bit values. */
export interface LargeCommunity {
  globalAdmin: number;
  localData1: number;
  localData2: number;
}

/** MP_REACH_NLRI (RFC 4760 §3): next hops are global then optional link-local for IPv6. */
export interface MpReach {
  afi: number;
  safi: number;
  nextHops: string[];
  nlri: string[];
}

/** MP_UNREACH_NLRI (RFC 4760 §4). */
export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: string[];
}

/** An attribute the codec does not interpret, kept verbatim (optional transitive ones are passed on). */
export interface RawAttribute {
  flags: number;
  typeCode: number;
  value: Buffer;
}

/** Decoded path attributes; absent fields were not in the message. */
export interface PathAttributes {
  origin?: Origin;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: true;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  largeCommunities?: LargeCommunity[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  unknown?: RawAttribute[];
}

/**
 * UPDATE (RFC 4271 §4.3). `attrErrors` lists the non-fatal RFC 7606 errors found while decoding
 * (the offending attribute is already dropped), as plain issues rather than Errors; present
 * only when there were any.
 */
export interface UpdateMessage {
  type: typeof MessageType.Update;
  withdrawn: string[];
  attributes: PathAttributes;
  nlri: string[];
  attrErrors?: AttrIssue[];
}

/** NOTIFICATION (RFC 4271 §4.5). */
export interface NotificationMessage {
  type: typeof MessageType.Notification;
  code: number;
  subcode: number;
  data: Buffer;
}

/** KEEPALIVE (RFC 4271 §4.4): header only. */
export interface KeepaliveMessage {
  type: typeof MessageType.Keepalive;
}

/**
 * ROUTE-REFRESH message subtypes (RFC 7313 §3): a plain request, and the Beginning and End of
 * Route Refresh markers a speaker with the Enhanced Route Refresh capability wraps a resend in.
 */
export const RouteRefreshSubtype = { Request: 0, BeginOfRefresh: 1, EndOfRefresh: 2 } as const;

/** ROUTE-REFRESH (RFC 2918 §3; `subtype` is the RFC 7313 field, 0 for a plain request). */
export interface RouteRefreshMessage {
  type: typeof MessageType.RouteRefresh;
  afi: number;
  safi: number;
  subtype: number;
}

/** Any BGP message. */
export type Message = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
