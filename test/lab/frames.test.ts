// Unit tests of the lab's pure decoders: pcap files, Ethernet/ARP/IPv6/ICMPv6 ND frames, and the
// text parsers of the router wrappers and cleanup (no namespaces needed).
import t from 'tap';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { decodeEthernet, formatIpv6, parsePcap, ArpOp, EtherType, Icmpv6Type } from '../harness/lab-frames';
import { labOwnerPid, parseNetnsList, parsePids } from '../harness/lab-cleanup';
import { parseBirdProtocols, parseBirdRoutes } from '../harness/routers/bird';
import { replayUpdates, type ExabgpMessage } from '../harness/routers/exabgp';
import { kernelDst } from '../harness/routers/frr';

/** Bytes from annotated hex: `#` starts a comment, whitespace is ignored. */
const hex = (s: string): Buffer =>
  Buffer.from(
    s
      .split('\n')
      .map((line) => line.replace(/#.*/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );

// Gratuitous ARP for 10.77.0.160 from 02:77:00:00:00:0b (as `arping -U -s` sends it).
const GARP = hex(`
  ffffffffffff 02770000000b 0806            # dst broadcast, src node 1, ethertype ARP
  0001 0800 06 04 0001                      # Ethernet/IPv4, hlen 6, plen 4, op request
  02770000000b 0a4d00a0                     # sender MAC, sender IP 10.77.0.160
  ffffffffffff 0a4d00a0                     # target MAC (arping -U), target IP = sender IP
`);

// Solicited NA for fd00:77::12 from 02:77:00:00:00:0c to fd00:77::1, with a target LLA option.
const NA = hex(`
  027700000001 02770000000c 86dd            # dst router, src node 2, ethertype IPv6
  60000000 0020 3a ff                       # version 6, payload 32, next header 58, hop limit 255
  fd000077000000000000000000000012          # source fd00:77::12
  fd000077000000000000000000000001          # destination fd00:77::1
  88 00 0000 60000000                       # NA, code 0, checksum (not checked), flags S+O
  fd000077000000000000000000000012          # target fd00:77::12
  02 01 02770000000c                        # option 2 (target link-layer address), length 1
`);

/** pcap file (little-endian, microseconds, Ethernet) holding `frames` at 1.5 s, 2.5 s, … */
function pcap(frames: readonly Buffer[], opts: { bigEndian?: boolean; nanos?: boolean; linkType?: number } = {}): Buffer {
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (opts.bigEndian === true) b.writeUInt32BE(v);
    else b.writeUInt32LE(v);
    return b;
  };
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    if (opts.bigEndian === true) b.writeUInt16BE(v);
    else b.writeUInt16LE(v);
    return b;
  };
  // magic, version 2.4, thiszone 0, sigfigs 0, snaplen 262144, linktype
  const header = Buffer.concat([
    u32(opts.nanos === true ? 0xa1b23c4d : 0xa1b2c3d4),
    u16(2),
    u16(4),
    u32(0),
    u32(0),
    u32(262144),
    u32(opts.linkType ?? 1),
  ]);
  const records = frames.map((f, i) =>
    Buffer.concat([u32(i + 1), u32(opts.nanos === true ? 500_000_000 : 500_000), u32(f.length), u32(f.length), f]),
  );
  return Buffer.concat([header, ...records]);
}

t.test('ARP and NA frames decode field by field', async (t) => {
  t.match(decodeEthernet(GARP), {
    dst: 'ff:ff:ff:ff:ff:ff',
    src: '02:77:00:00:00:0b',
    ethertype: EtherType.ARP,
    arp: { op: ArpOp.Request, senderMac: '02:77:00:00:00:0b', senderIp: '10.77.0.160', targetMac: 'ff:ff:ff:ff:ff:ff', targetIp: '10.77.0.160' },
  });
  t.match(decodeEthernet(NA), {
    dst: '02:77:00:00:00:01',
    ethertype: EtherType.IPv6,
    ipv6: { src: 'fd00:77::12', dst: 'fd00:77::1', nextHeader: 58, hopLimit: 255 },
    icmpv6: {
      type: Icmpv6Type.NeighborAdvert,
      target: 'fd00:77::12',
      router: false,
      solicited: true,
      override: true,
      targetLinkAddr: '02:77:00:00:00:0c',
    },
  });
  t.equal(decodeEthernet(GARP.subarray(0, 13)), undefined, 'shorter than an Ethernet header');
  t.equal(decodeEthernet(GARP.subarray(0, 30))?.arp, undefined, 'truncated ARP payload: no arp field');
});

t.test('pcap: both byte orders, micro and nano seconds, truncated tail, bad input', async (t) => {
  for (const opts of [{}, { bigEndian: true }, { nanos: true }, { bigEndian: true, nanos: true }]) {
    const frames = parsePcap(pcap([GARP, NA], opts));
    t.same(
      frames.map((f) => [f.timeUs, f.ethertype]),
      [
        [1_500_000, EtherType.ARP],
        [2_500_000, EtherType.IPv6],
      ],
      JSON.stringify(opts),
    );
  }
  const file = pcap([GARP, NA]);
  t.equal(parsePcap(file.subarray(0, file.length - 5)).length, 1, 'a record still being written is skipped');
  t.same(parsePcap(Buffer.alloc(10)), [], 'empty file (tcpdump has not flushed its header yet)');
  t.throws(() => parsePcap(Buffer.alloc(24)), { code: 'MLB_ERR_BAD_FRAME' });
  t.throws(() => parsePcap(pcap([GARP], { linkType: 113 })), { code: 'MLB_ERR_BAD_FRAME', message: /link type 113/ });
});

t.test('formatIpv6 matches ipaddr.js RFC 5952 text', async () => {
  const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const b = Buffer.alloc(16);
      groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
      return formatIpv6(b) === (ipaddr.fromByteArray([...b]) as ipaddr.IPv6).toRFC5952String();
    }),
  );
});

t.test('text parsers: ip netns, BIRD, ExaBGP replay, kernel dst', async (t) => {
  t.same(parseNetnsList('mlb12x1r (id: 3)\nmlb12x1n1\n\nother (id: 0)\n'), ['mlb12x1r', 'mlb12x1n1', 'other']);
  t.same(parsePids('123\n456\n'), [123, 456]);
  t.equal(labOwnerPid('mlb4242x7n12'), 4242);
  t.equal(labOwnerPid('l2v-a'), undefined);
  t.equal(labOwnerPid('mlbxx'), undefined);

  const protocols = parseBirdProtocols(
    [
      'BIRD 2.0.12 ready.',
      'Name       Proto      Table      State  Since         Info',
      'device1    Device     ---        up     04:03:25.331  ',
      'peer1      BGP        ---        up     04:03:26.170  Established   ',
      'peer2      BGP        ---        start  04:03:26.170  Active        Socket: Connection refused',
    ].join('\n'),
  );
  t.same(protocols, [
    { name: 'device1', proto: 'Device', state: 'up', info: '' },
    { name: 'peer1', proto: 'BGP', state: 'up', info: 'Established' },
    { name: 'peer2', proto: 'BGP', state: 'start', info: 'Active Socket: Connection refused' },
  ]);
  t.same(
    parseBirdRoutes(
      [
        'Table master4:',
        '10.77.0.210/32       unicast [peer1 04:03:35.736] * (100) [AS64500?]',
        '\tvia 10.77.0.11 on br0',
        '                     unicast [peer2 04:03:35.736] (100) [AS64500?]',
        '\tvia 10.77.0.12 on br0',
        'Table master6:',
        'fd00:77::210/128     unicast [peer3 04:03:35.736] * (100) [AS64500?]',
      ].join('\n'),
    ),
    {
      '10.77.0.210/32': [
        'unicast [peer1 04:03:35.736] * (100) [AS64500?]',
        'via 10.77.0.11 on br0',
        'unicast [peer2 04:03:35.736] (100) [AS64500?]',
        'via 10.77.0.12 on br0',
      ],
      'fd00:77::210/128': ['unicast [peer3 04:03:35.736] * (100) [AS64500?]'],
    },
  );

  const peer = { address: { local: '10.77.0.1', peer: '10.77.0.11' } };
  const update = (u: object): ExabgpMessage => ({ type: 'update', neighbor: { ...peer, message: { update: u } } });
  const msgs: ExabgpMessage[] = [
    { type: 'state', neighbor: { ...peer, state: 'up' } },
    update({ attribute: { med: 1 }, announce: { 'ipv4 unicast': { '10.77.0.11': [{ nlri: '10.77.0.1/32' }, { nlri: '10.77.0.2/32' }] } } }),
    update({ withdraw: { 'ipv4 unicast': [{ nlri: '10.77.0.1/32' }] } }),
  ];
  t.same([...replayUpdates(msgs).keys()], ['10.77.0.11 10.77.0.2/32'], 'announce then withdraw');
  t.match(replayUpdates(msgs).get('10.77.0.11 10.77.0.2/32'), { nextHop: '10.77.0.11', attribute: { med: 1 } });
  t.equal(replayUpdates([...msgs, { type: 'state', neighbor: { ...peer, state: 'down' } }]).size, 0, 'session down clears');

  t.equal(kernelDst('10.77.0.200'), '10.77.0.200');
  t.equal(kernelDst('10.77.0.200/32'), '10.77.0.200');
  t.equal(kernelDst('fd00:77::200/128'), 'fd00:77::200');
  t.equal(kernelDst('10.77.1.0/24'), '10.77.1.0/24');
});
