import t from 'tap';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, type ArpFrame, type Frame, type NdpFrame } from '../../src/arp/frame';
import {
  DropReason,
  claimOf,
  gratuitousFrames,
  probeFrame,
  respond,
  type Announcement,
  type Decision,
  type ResponderContext,
} from '../../src/arp/responder';
import * as v from '../fixtures/arp/vectors';

const OUR = '02:00:00:00:00:0d'; // eth0 of this node
const OUR_ETH1 = '02:00:00:00:01:0b';
const PEER = '02:00:00:00:00:0a';
const OTHER = '02:00:00:00:00:0c';

function ctx(announced: Record<string, Announcement>, iface = 'eth0'): ResponderContext {
  return {
    announced: new Map(Object.entries(announced)),
    iface: { name: iface, mac: iface === 'eth0' ? OUR : OUR_ETH1 },
    ownMacs: new Set([OUR, OUR_ETH1]),
  };
}
const all: Announcement = { interfaces: 'all' };
const onlyEth1: Announcement = { interfaces: new Set(['eth1']) };

function arp(op: 1 | 2, sender: [string, string], target: [string, string], ethDst = 'ff:ff:ff:ff:ff:ff', ethSrc = sender[0]): ArpFrame {
  return {
    kind: 'arp',
    eth: { dst: ethDst, src: ethSrc, etherType: 0x0806 },
    arp: { op, senderMac: sender[0], senderIp: sender[1], targetMac: target[0], targetIp: target[1] },
  };
}

function ns(src: string, dst: string, target: string, opts: { slla?: string; hlim?: number; ethDst?: string; ethSrc?: string } = {}): NdpFrame {
  const f: NdpFrame = {
    kind: 'ndp',
    eth: { dst: opts.ethDst ?? '33:33:ff:00:01:00', src: opts.ethSrc ?? PEER, etherType: 0x86dd },
    ip6: { trafficClass: 0, flowLabel: 0, hopLimit: opts.hlim ?? 255, src, dst },
    ndp: { type: 'ns', target },
  };
  if (opts.slla !== undefined) f.ndp = { type: 'ns', target, sourceLinkLayerAddress: opts.slla };
  return f;
}

function na(target: string, tlla: string | undefined, ethSrc: string, flags = { solicited: false, override: true }): NdpFrame {
  return {
    kind: 'ndp',
    eth: { dst: '33:33:00:00:00:01', src: ethSrc, etherType: 0x86dd },
    ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 255, src: target, dst: 'ff02::1' },
    ndp: tlla === undefined ? { type: 'na', router: false, ...flags, target } : { type: 'na', router: false, ...flags, target, targetLinkLayerAddress: tlla },
  };
}

const VIP4 = '10.77.0.100';
const VIP6 = 'fd00:77::100';
const SNM6 = 'ff02::1:ff00:100';

t.test('ARP request for an announced IP gets a unicast reply from our MAC', async (t) => {
  const d = respond(ctx({ [VIP4]: all }), arp(1, [PEER, '10.77.0.1'], ['00:00:00:00:00:00', VIP4]));
  t.same(d, {
    kind: 'reply',
    ip: VIP4,
    frame: arp(2, [OUR, VIP4], [PEER, '10.77.0.1'], PEER, OUR),
  });
  // The kernel-captured request, re-targeted at a VIP we hold, decodes and is answered too.
  const d2 = respond(ctx({ '10.77.9.2': all }), decodeFrame(v.arpRequest));
  t.equal(d2.kind, 'reply');
});

t.test('ARP request to our MAC (unicast, as a NUD-style re-check) is answered', async (t) => {
  const d = respond(ctx({ [VIP4]: all }), arp(1, [PEER, '10.77.0.1'], ['00:00:00:00:00:00', VIP4], OUR));
  t.equal(d.kind, 'reply');
});

t.test('ARP probe from 0.0.0.0 (RFC 5227) is answered and claims nothing', async (t) => {
  const f = arp(1, [PEER, '0.0.0.0'], ['00:00:00:00:00:00', VIP4], OUR);
  t.equal(claimOf(f), undefined);
  const d = respond(ctx({ [VIP4]: all }), f);
  t.equal(d.kind, 'reply');
  if (d.kind === 'reply' && d.frame.kind === 'arp') t.equal(d.frame.arp.targetIp, '0.0.0.0');
});

interface Row {
  name: string;
  announced: Record<string, Announcement>;
  frame: Frame;
  iface?: string;
  pktType?: number;
  want: Decision;
}

const rows: Row[] = [
  {
    name: 'ARP for an IP we do not hold',
    announced: { [VIP4]: all },
    frame: arp(1, [PEER, '10.77.0.1'], ['00:00:00:00:00:00', '10.77.0.101']),
    want: { kind: 'drop', reason: DropReason.NotOurs, ip: '10.77.0.101' },
  },
  {
    name: 'ARP for an IP announced on another interface only',
    announced: { [VIP4]: onlyEth1 },
    frame: arp(1, [PEER, '10.77.0.1'], ['00:00:00:00:00:00', VIP4]),
    want: { kind: 'drop', reason: DropReason.WrongInterface, ip: VIP4 },
  },
  {
    name: '... but answered on that interface',
    announced: { [VIP4]: onlyEth1 },
    iface: 'eth1',
    frame: arp(1, [PEER, '10.77.0.1'], ['00:00:00:00:00:00', VIP4]),
    want: { kind: 'reply', ip: VIP4, frame: arp(2, [OUR_ETH1, VIP4], [PEER, '10.77.0.1'], PEER, OUR_ETH1) },
  },
  {
    name: 'ARP reply to us about someone else is not a request',
    announced: { [VIP4]: all },
    frame: arp(2, [OTHER, '10.77.0.7'], [OUR, '10.77.0.2'], OUR),
    want: { kind: 'drop', reason: DropReason.NotARequest, ip: '10.77.0.7' },
  },
  {
    name: 'the kernel\'s unicast ARP reply to another station',
    announced: { [VIP4]: all },
    frame: decodeFrame(v.arpReply),
    want: { kind: 'drop', reason: DropReason.OtherHost },
  },
  {
    name: 'gratuitous ARP for an IP not ours',
    announced: { [VIP4]: all },
    frame: decodeFrame(v.garpRequest),
    want: { kind: 'drop', reason: DropReason.Gratuitous, ip: '10.77.9.100' },
  },
  {
    name: 'ARP request unicast to another station',
    announced: { [VIP4]: all },
    frame: arp(1, [PEER, '10.77.0.1'], ['00:00:00:00:00:00', VIP4], OTHER),
    want: { kind: 'drop', reason: DropReason.OtherHost },
  },
  {
    name: 'our own frame looped back (source MAC of another local interface)',
    announced: { [VIP4]: all },
    frame: arp(1, [OUR_ETH1, VIP4], ['ff:ff:ff:ff:ff:ff', VIP4]),
    want: { kind: 'drop', reason: DropReason.OurOwnFrame },
  },
  {
    name: 'PACKET_OUTGOING',
    announced: { [VIP4]: all },
    frame: arp(1, [PEER, '10.77.0.1'], ['00:00:00:00:00:00', VIP4]),
    pktType: 4,
    want: { kind: 'drop', reason: DropReason.OurOwnFrame },
  },
  {
    name: 'conflict: GARP request from another MAC for our IP',
    announced: { '10.77.9.100': all },
    frame: decodeFrame(v.garpRequest),
    want: { kind: 'conflict', ip: '10.77.9.100', mac: PEER },
  },
  {
    name: 'conflict: GARP in reply form',
    announced: { '10.77.9.100': all },
    frame: decodeFrame(v.garpReply),
    want: { kind: 'conflict', ip: '10.77.9.100', mac: PEER },
  },
  {
    name: 'conflict: a flooded unicast ARP reply for our IP to a third station',
    announced: { [VIP4]: all },
    frame: arp(2, [OTHER, VIP4], [PEER, '10.77.0.1'], PEER, OTHER),
    want: { kind: 'conflict', ip: VIP4, mac: OTHER },
  },
  {
    name: 'no conflict when the claim is on an interface the IP is not announced on',
    announced: { [VIP4]: onlyEth1 },
    frame: arp(2, [OTHER, VIP4], [PEER, '10.77.0.1'], PEER, OTHER),
    want: { kind: 'drop', reason: DropReason.OtherHost },
  },
  {
    name: 'non-ARP, non-ND frame',
    announced: { [VIP4]: all },
    frame: decodeFrame(v.echoRequest),
    want: { kind: 'drop', reason: DropReason.NotArpOrNd },
  },
  {
    name: 'NS with hop limit 64 (possibly off-link)',
    announced: { [VIP6]: all },
    frame: ns('fd00:77::1', SNM6, VIP6, { slla: PEER, hlim: 64 }),
    want: { kind: 'drop', reason: DropReason.BadHopLimit, ip: VIP6 },
  },
  {
    name: 'NS for a multicast target',
    announced: { [VIP6]: all },
    frame: ns('fd00:77::1', 'ff02::1:ff00:1', 'ff02::1', { slla: PEER }),
    want: { kind: 'drop', reason: DropReason.MulticastTarget, ip: 'ff02::1' },
  },
  {
    name: 'NS for an IPv6 address not ours',
    announced: { [VIP6]: all },
    frame: decodeFrame(v.nsMulticast),
    want: { kind: 'drop', reason: DropReason.NotOurs, ip: 'fd00:77:9::2' },
  },
  {
    name: 'NS for our IPv6 on another interface',
    announced: { [VIP6]: onlyEth1 },
    frame: ns('fd00:77::1', SNM6, VIP6, { slla: PEER }),
    want: { kind: 'drop', reason: DropReason.WrongInterface, ip: VIP6 },
  },
  {
    name: 'DAD probe to the wrong group',
    announced: { [VIP6]: all },
    frame: ns('::', 'ff02::1:ff00:101', VIP6),
    want: { kind: 'drop', reason: DropReason.InvalidDad, ip: VIP6 },
  },
  {
    name: 'DAD probe carrying an SLLA option',
    announced: { [VIP6]: all },
    frame: ns('::', SNM6, VIP6, { slla: PEER }),
    want: { kind: 'drop', reason: DropReason.InvalidDad, ip: VIP6 },
  },
  {
    name: 'NS to an unrelated destination',
    announced: { [VIP6]: all },
    frame: ns('fd00:77::1', 'fd00:77::1', VIP6, { slla: PEER, ethDst: OUR }),
    want: { kind: 'drop', reason: DropReason.BadDestination, ip: VIP6 },
  },
  {
    name: 'NA about someone else',
    announced: { [VIP6]: all },
    frame: na('fd00:77::7', OTHER, OTHER),
    want: { kind: 'drop', reason: DropReason.NotARequest, ip: 'fd00:77::7' },
  },
  {
    name: 'conflict: unsolicited NA from another MAC for our IPv6',
    announced: { 'fd00:77:9::5': all },
    frame: decodeFrame(v.naUnsolicited),
    want: { kind: 'conflict', ip: 'fd00:77:9::5', mac: PEER },
  },
  {
    name: 'conflict: NA without TLLA is attributed to its source MAC',
    announced: { [VIP6]: all },
    frame: na(VIP6, undefined, OTHER),
    want: { kind: 'conflict', ip: VIP6, mac: OTHER },
  },
  {
    name: 'conflict: NS sourced from our IPv6 by another station',
    announced: { [VIP6]: all },
    frame: ns(VIP6, 'ff02::1:ff00:1', 'fd00:77::1', { slla: OTHER, ethSrc: OTHER }),
    want: { kind: 'conflict', ip: VIP6, mac: OTHER },
  },
  // Regression: NDP messages RFC 4861 §7.1.2 says to discard still counted as claims, so an
  // off-link sender could raise a conflict (silencing a holder) or answer a probe for a dead one.
  {
    name: 'no conflict from an NA with hop limit 64 (possibly off-link)',
    announced: { [VIP6]: all },
    frame: { ...na(VIP6, OTHER, OTHER), ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 64, src: VIP6, dst: 'ff02::1' } },
    want: { kind: 'drop', reason: DropReason.NotARequest, ip: VIP6 },
  },
  {
    name: 'no conflict from a solicited NA sent to a multicast address',
    announced: { [VIP6]: all },
    frame: na(VIP6, OTHER, OTHER, { solicited: true, override: true }),
    want: { kind: 'drop', reason: DropReason.NotARequest, ip: VIP6 },
  },
  {
    name: 'NS from a multicast source is dropped, not answered (RFC 4291 §2.7)',
    announced: { [VIP6]: all },
    frame: ns('ff02::1', SNM6, VIP6, { slla: PEER }),
    want: { kind: 'drop', reason: DropReason.MulticastSource, ip: VIP6 },
  },
];

t.test('decision table', async (t) => {
  for (const r of rows) t.same(respond(ctx(r.announced, r.iface), r.frame, r.pktType), r.want, r.name);
});

t.test('NS to the solicited-node group: solicited NA to the solicitor, from the VIP, S=1 O=1', async (t) => {
  const d = respond(ctx({ [VIP6]: all }), ns('fd00:77::1', SNM6, VIP6, { slla: PEER }));
  t.same(d, {
    kind: 'reply',
    ip: VIP6,
    frame: {
      kind: 'ndp',
      eth: { dst: PEER, src: OUR, etherType: 0x86dd },
      ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 255, src: VIP6, dst: 'fd00:77::1' },
      ndp: { type: 'na', router: false, solicited: true, override: true, target: VIP6, targetLinkLayerAddress: OUR },
    },
  });
  // The kernel's own NS, aimed at a VIP we hold: the encoded reply decodes with a valid checksum.
  const k = respond(ctx({ 'fd00:77:9::2': all }), decodeFrame(v.nsMulticast));
  t.equal(k.kind, 'reply');
  if (k.kind === 'reply') t.same(decodeFrame(encodeFrame(k.frame)), k.frame);
});

t.test('unicast NUD probe without SLLA: answered at the frame source MAC', async (t) => {
  const d = respond(ctx({ [VIP6]: all }), ns('fe80::1', VIP6, VIP6, { ethDst: OUR, ethSrc: PEER }));
  t.equal(d.kind, 'reply');
  if (d.kind === 'reply' && d.frame.kind === 'ndp') {
    t.equal(d.frame.eth.dst, PEER);
    t.equal(d.frame.ip6.dst, 'fe80::1');
    t.equal(d.frame.ndp.type === 'na' && d.frame.ndp.solicited, true);
  }
});

t.test('DAD probe from :: is answered to all-nodes with S=0 (RFC 4861 §7.2.4)', async (t) => {
  const f = decodeFrame(v.nsDad);
  const d = respond(ctx({ 'fd00:77:9::5': all }), f);
  t.same(d, {
    kind: 'reply',
    ip: 'fd00:77:9::5',
    frame: {
      kind: 'ndp',
      eth: { dst: '33:33:00:00:00:01', src: OUR, etherType: 0x86dd },
      ip6: { trafficClass: 0, flowLabel: 0, hopLimit: 255, src: 'fd00:77:9::5', dst: 'ff02::1' },
      ndp: { type: 'na', router: false, solicited: false, override: true, target: 'fd00:77:9::5', targetLinkLayerAddress: OUR },
    },
  });
});

t.test('gratuitous frames: ARP request and reply forms, unsolicited NA', async (t) => {
  const [req, rep] = gratuitousFrames('10.77.9.100', PEER);
  // Ours use target MAC ff:ff:ff:ff:ff:ff like upstream; arping -U does the same for the request form.
  t.same(encodeFrame(req!).subarray(0, 42), v.garpRequest);
  t.same(rep, arp(2, [PEER, '10.77.9.100'], ['ff:ff:ff:ff:ff:ff', '10.77.9.100']));
  const [unsolicited] = gratuitousFrames('fd00:77:9::5', PEER);
  t.same(encodeFrame(unsolicited!), v.naUnsolicited, 'byte-identical to the kernel\'s ndisc_notify NA');
  t.equal(gratuitousFrames('fd00:77:9::5', PEER).length, 1);
});

t.test('probe frames and claim matching', async (t) => {
  const p4 = probeFrame(VIP4, PEER, OUR);
  t.same(p4, arp(1, [OUR, '0.0.0.0'], ['00:00:00:00:00:00', VIP4], PEER, OUR));
  // The owner answers the probe; the answer claims (VIP, owner MAC).
  const owner = respond({ announced: new Map([[VIP4, all]]), iface: { name: 'eth0', mac: PEER }, ownMacs: new Set([PEER]) }, p4);
  t.equal(owner.kind, 'reply');
  if (owner.kind === 'reply') t.same(claimOf(owner.frame), { ip: VIP4, mac: PEER });

  const p6 = probeFrame('FD00:77::100', PEER, OUR, 'fe80::b');
  t.same(p6, ns('fe80::b', VIP6, VIP6, { slla: OUR, ethDst: PEER, ethSrc: OUR }));
  const owner6 = respond({ announced: new Map([[VIP6, all]]), iface: { name: 'eth0', mac: PEER }, ownMacs: new Set([PEER]) }, p6);
  t.equal(owner6.kind, 'reply');
  if (owner6.kind === 'reply') t.same(claimOf(owner6.frame), { ip: VIP6, mac: PEER });

  const dad = probeFrame(VIP6, PEER, OUR);
  t.same(dad, ns('::', SNM6, VIP6, { ethDst: PEER, ethSrc: OUR }));
  const owner6b = respond({ announced: new Map([[VIP6, all]]), iface: { name: 'eth0', mac: PEER }, ownMacs: new Set([PEER]) }, dad);
  t.equal(owner6b.kind === 'reply' && owner6b.frame.eth.dst, '33:33:00:00:00:01');
});

t.test('property: respond never throws on any decodable frame', async () => {
  const c = ctx({ [VIP4]: all, [VIP6]: all, '10.77.9.100': all, 'fd00:77:9::5': onlyEth1 });
  const seeds = [v.arpRequest, v.arpReply, v.garpRequest, v.garpReply, v.nsMulticast, v.naSolicited, v.nsDad, v.naUnsolicited];
  fc.assert(
    fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (seed, edits) => {
      const buf = Buffer.from(seed);
      for (const [o, b] of edits) buf[o % buf.length] = b;
      let frame: Frame;
      try {
        frame = decodeFrame(buf);
      } catch {
        return true;
      }
      const d = respond(c, frame);
      if (d.kind === 'reply') decodeFrame(encodeFrame(d.frame)); // replies always encode and decode
      return true;
    }),
    { numRuns: 5000 },
  );
});
