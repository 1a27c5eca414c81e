/**
 * The L2 responder's decisions as one pure function: given what this node announces, the interface
 * a frame arrived on and the decoded frame, answer it, report a conflict, or drop it with a reason.
 * No sockets, no timers, no logging: src/arp/announcer.ts does the I/O and logs drops at debug.
 */
import { BROADCAST_MAC, IPV6_ALL_NODES, IPV6_UNSPECIFIED, ZERO_MAC, isGroupMac, parseIpBytes, solicitedNodeAddress } from './addr';
import { ArpOp } from './arp-codec';
import { EtherType } from './ethernet';
import type { ArpFrame, Frame, NdpFrame } from './frame';
import { ND_HOP_LIMIT } from './ndp-codec';

/** Why a frame got no answer. Logged at debug and counted per reason. */
export const DropReason = {
  /** Could not be decoded (counted by the shell, which owns the decode). */
  BadFrame: 'bad-frame',
  /** Well formed but neither ARP nor an ICMPv6 NS/NA. */
  NotArpOrNd: 'not-arp-or-nd',
  /** Sent by one of this node's own interfaces (a loop through the segment, or PACKET_OUTGOING). */
  OurOwnFrame: 'our-own-frame',
  /** Unicast to some other station's MAC (seen because the segment flooded it). */
  OtherHost: 'other-host',
  /** An ARP reply or an NA that claims nothing of ours. */
  NotARequest: 'not-a-request',
  /** A gratuitous ARP request (sender IP = target IP) that claims nothing of ours. */
  Gratuitous: 'gratuitous',
  /** The requested address is not announced by this node. */
  NotOurs: 'not-ours',
  /** Announced, but not on the interface the request arrived on (upstream's notMatchInterface). */
  WrongInterface: 'wrong-interface',
  /** NS with hop limit other than 255, so possibly from off-link (RFC 4861 §7.1.1). */
  BadHopLimit: 'bad-hop-limit',
  /** NS target is a multicast address (RFC 4861 §7.1.1). */
  MulticastTarget: 'multicast-target',
  /** NS from `::` that is not a valid DAD probe: not to the solicited-node group, or with SLLA (RFC 4861 §7.1.1). */
  InvalidDad: 'invalid-dad',
  /** NS addressed to neither the target nor the target's solicited-node group. */
  BadDestination: 'bad-destination',
  /** NS from a multicast address, which no packet may carry as its source (RFC 4291 §2.7). */
  MulticastSource: 'multicast-source',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/** On which interfaces an IP is announced: every eligible one, or the named ones. */
export type InterfaceSet = 'all' | ReadonlySet<string>;

/** What the responder needs to know about one announced IP. */
export interface Announcement {
  interfaces: InterfaceSet;
}

/** The interface a frame arrived on. */
export interface LocalInterface {
  name: string;
  mac: string;
}

/** Everything respond() reads; the shell keeps it current. */
export interface ResponderContext {
  /** Announced IPs by canonical text (see parseIpBytes). */
  announced: ReadonlyMap<string, Announcement>;
  iface: LocalInterface;
  /** MACs of every local interface: a claim from one of them is ours, not a conflict. */
  ownMacs: ReadonlySet<string>;
}

/** The outcome for one received frame. */
export type Decision =
  | { kind: 'reply'; ip: string; frame: ArpFrame | NdpFrame }
  | { kind: 'conflict'; ip: string; mac: string }
  | { kind: 'drop'; reason: DropReason; ip?: string };

/** An address binding asserted by a frame: "ip is at mac". */
export interface Claim {
  ip: string;
  mac: string;
}

/** PACKET_OUTGOING from <linux/if_packet.h>: a frame this host transmitted. */
const PACKET_OUTGOING = 4;

/** True when `ip` is announced on interface `name`. */
export function announcedOn(a: Announcement, name: string): boolean {
  return a.interfaces === 'all' || a.interfaces.has(name);
}

/**
 * The binding a frame asserts, if any. Every ARP packet binds its sender (RFC 826: receivers
 * update their caches from the sender fields), unless the sender IP is 0.0.0.0 (an RFC 5227
 * probe); an NA binds its target; an NS with a source address and SLLA binds its source
 * (RFC 4861 §7.2.3). Used for conflict detection and to match probe answers, so an NDP message
 * that RFC 4861 §7.1 says to discard binds nothing: hop limit other than 255 (it may come from
 * off-link, where anyone could otherwise make a dead holder look alive or silence a live one), a
 * multicast target or source, or a solicited NA sent to a multicast address (§7.1.2).
 */
export function claimOf(frame: Frame): Claim | undefined {
  if (frame.kind === 'arp') {
    return frame.arp.senderIp === '0.0.0.0' ? undefined : { ip: frame.arp.senderIp, mac: frame.arp.senderMac };
  }
  if (frame.kind !== 'ndp') return undefined;
  const m = frame.ndp;
  if (frame.ip6.hopLimit !== ND_HOP_LIMIT || isMulticast6(m.target) || isMulticast6(frame.ip6.src)) return undefined;
  if (m.type === 'na') {
    if (m.solicited && isMulticast6(frame.ip6.dst)) return undefined;
    return { ip: m.target, mac: m.targetLinkLayerAddress ?? frame.eth.src };
  }
  if (frame.ip6.src !== IPV6_UNSPECIFIED && m.sourceLinkLayerAddress !== undefined) {
    return { ip: frame.ip6.src, mac: m.sourceLinkLayerAddress };
  }
  return undefined;
}

/** Decide what to do with one frame received on `ctx.iface`. `pktType` is the kernel's PACKET_* type. */
export function respond(ctx: ResponderContext, frame: Frame, pktType = 0): Decision {
  if (frame.kind === 'other') return { kind: 'drop', reason: DropReason.NotArpOrNd };
  if (pktType === PACKET_OUTGOING || ctx.ownMacs.has(frame.eth.src)) return { kind: 'drop', reason: DropReason.OurOwnFrame };

  // Conflicts first, whatever the frame was addressed to: a flooded unicast reply from another
  // station claiming our IP is exactly what the election needs to hear about.
  const claim = claimOf(frame);
  if (claim !== undefined && !ctx.ownMacs.has(claim.mac)) {
    const a = ctx.announced.get(claim.ip);
    if (a !== undefined && announcedOn(a, ctx.iface.name)) return { kind: 'conflict', ip: claim.ip, mac: claim.mac };
  }
  if (!isGroupMac(frame.eth.dst) && frame.eth.dst !== ctx.iface.mac) return { kind: 'drop', reason: DropReason.OtherHost };
  return frame.kind === 'arp' ? respondArp(ctx, frame) : respondNdp(ctx, frame);
}

/** ff00::/8, on the codec's canonical lower-case text. */
function isMulticast6(ip: string): boolean {
  return ip.startsWith('ff');
}

function lookup(ctx: ResponderContext, ip: string): Decision | undefined {
  const a = ctx.announced.get(ip);
  if (a === undefined) return { kind: 'drop', reason: DropReason.NotOurs, ip };
  if (!announcedOn(a, ctx.iface.name)) return { kind: 'drop', reason: DropReason.WrongInterface, ip };
  return undefined;
}

function respondArp(ctx: ResponderContext, frame: ArpFrame): Decision {
  const req = frame.arp;
  if (req.op !== ArpOp.Request) return { kind: 'drop', reason: DropReason.NotARequest, ip: req.senderIp };
  if (req.senderIp === req.targetIp) return { kind: 'drop', reason: DropReason.Gratuitous, ip: req.targetIp };
  const miss = lookup(ctx, req.targetIp);
  if (miss !== undefined) return miss;
  // RFC 826 reply: swap sender and target, fill in our MAC; unicast to the requester, as upstream.
  return {
    kind: 'reply',
    ip: req.targetIp,
    frame: {
      kind: 'arp',
      eth: { dst: req.senderMac, src: ctx.iface.mac, etherType: EtherType.Arp },
      arp: { op: ArpOp.Reply, senderMac: ctx.iface.mac, senderIp: req.targetIp, targetMac: req.senderMac, targetIp: req.senderIp },
    },
  };
}

function respondNdp(ctx: ResponderContext, frame: NdpFrame): Decision {
  const m = frame.ndp;
  if (m.type !== 'ns') return { kind: 'drop', reason: DropReason.NotARequest, ip: m.target };
  // RFC 4861 §7.1.1 validity checks that the codec leaves to policy.
  if (frame.ip6.hopLimit !== ND_HOP_LIMIT) return { kind: 'drop', reason: DropReason.BadHopLimit, ip: m.target };
  if (isMulticast6(m.target)) return { kind: 'drop', reason: DropReason.MulticastTarget, ip: m.target };
  if (isMulticast6(frame.ip6.src)) return { kind: 'drop', reason: DropReason.MulticastSource, ip: m.target };
  // Ownership before the address checks: they parse the target, which only our own IPs deserve.
  const miss = lookup(ctx, m.target);
  if (miss !== undefined) return miss;
  const dad = frame.ip6.src === IPV6_UNSPECIFIED;
  const solicitedNode = solicitedNodeAddress(parseIpBytes(m.target).bytes);
  if (dad && (frame.ip6.dst !== solicitedNode || m.sourceLinkLayerAddress !== undefined)) {
    return { kind: 'drop', reason: DropReason.InvalidDad, ip: m.target };
  }
  if (frame.ip6.dst !== m.target && frame.ip6.dst !== solicitedNode) return { kind: 'drop', reason: DropReason.BadDestination, ip: m.target };
  // RFC 4861 §7.2.4: a solicitation from :: (DAD) is answered to all-nodes with S=0; otherwise to
  // the solicitor with S=1, at the SLLA if given, else at the frame's source MAC. O=1 so caches that
  // still point at a previous owner are overwritten. Our source is the VIP itself, as the kernel
  // does for its own addresses (ndisc6 ignores NAs for a global target from link-local,
  // docs/architecture.md §9.9).
  const ethDst = dad ? '33:33:00:00:00:01' : (m.sourceLinkLayerAddress ?? frame.eth.src);
  return {
    kind: 'reply',
    ip: m.target,
    frame: {
      kind: 'ndp',
      eth: { dst: ethDst, src: ctx.iface.mac, etherType: EtherType.Ipv6 },
      ip6: { trafficClass: 0, flowLabel: 0, hopLimit: ND_HOP_LIMIT, src: m.target, dst: dad ? IPV6_ALL_NODES : frame.ip6.src },
      ndp: { type: 'na', router: false, solicited: !dad, override: true, target: m.target, targetLinkLayerAddress: ctx.iface.mac },
    },
  };
}

/**
 * Gratuitous announcements for one IP on one interface, as upstream sends them
 * (docs/upstream-behaviour.md §4.5): IPv4, an ARP request and an ARP reply, both broadcast with
 * sender = target = the IP and target MAC ff:ff:ff:ff:ff:ff; IPv6, one unsolicited NA to all-nodes
 * with S=0, O=1 (RFC 4861 §7.2.6).
 */
export function gratuitousFrames(ip: string, mac: string): Array<ArpFrame | NdpFrame> {
  const family = parseIpBytes(ip).family;
  if (family === 4) {
    const eth = { dst: BROADCAST_MAC, src: mac, etherType: EtherType.Arp };
    const arp = { senderMac: mac, senderIp: ip, targetMac: BROADCAST_MAC, targetIp: ip };
    return [
      { kind: 'arp', eth, arp: { op: ArpOp.Request, ...arp } },
      { kind: 'arp', eth, arp: { op: ArpOp.Reply, ...arp } },
    ];
  }
  return [
    {
      kind: 'ndp',
      eth: { dst: '33:33:00:00:00:01', src: mac, etherType: EtherType.Ipv6 },
      ip6: { trafficClass: 0, flowLabel: 0, hopLimit: ND_HOP_LIMIT, src: ip, dst: IPV6_ALL_NODES },
      ndp: { type: 'na', router: false, solicited: false, override: true, target: ip, targetLinkLayerAddress: mac },
    },
  ];
}

/**
 * A liveness probe for `ip` aimed at one station: a unicast ARP request with sender IP 0.0.0.0
 * (an RFC 5227 probe, so no cache on the way learns anything from it), or for IPv6 a unicast NS
 * to the IP (a NUD probe, RFC 4861 §7.3.3) from `sourceIp6`, or, without a usable source, a DAD-form
 * NS from :: to the solicited-node group (answered to all-nodes). The owner's answer is matched
 * with claimOf.
 */
export function probeFrame(ip: string, ownerMac: string, ourMac: string, sourceIp6?: string): ArpFrame | NdpFrame {
  const target = parseIpBytes(ip);
  if (target.family === 4) {
    return {
      kind: 'arp',
      eth: { dst: ownerMac, src: ourMac, etherType: EtherType.Arp },
      arp: { op: ArpOp.Request, senderMac: ourMac, senderIp: '0.0.0.0', targetMac: ZERO_MAC, targetIp: target.text },
    };
  }
  const eth = { dst: ownerMac, src: ourMac, etherType: EtherType.Ipv6 };
  if (sourceIp6 === undefined) {
    return {
      kind: 'ndp',
      eth,
      ip6: { trafficClass: 0, flowLabel: 0, hopLimit: ND_HOP_LIMIT, src: IPV6_UNSPECIFIED, dst: solicitedNodeAddress(target.bytes) },
      ndp: { type: 'ns', target: target.text },
    };
  }
  return {
    kind: 'ndp',
    eth,
    ip6: { trafficClass: 0, flowLabel: 0, hopLimit: ND_HOP_LIMIT, src: sourceIp6, dst: target.text },
    ndp: { type: 'ns', target: target.text, sourceLinkLayerAddress: ourMac },
  };
}
