/**
 * Router Advertisement frames: our lifetime-0 RA byte for byte, and FRR's RA (as captured in the
 * lab from `neighbor br0 interface`) decoded; invalid ones are dropped, never thrown.
 */
import t from 'tap';
import { decodeRouterAdvert, encodeRouterAdvert } from '../../src/arp/ra-codec';

/** Independent RFC 4443 §2.3 checksum over the pseudo-header and the ICMPv6 message. */
function withChecksum(frame: Buffer): Buffer {
  const ip = 14;
  const icmp = ip + 40;
  const len = frame.length - icmp;
  const pseudo = Buffer.concat([frame.subarray(ip + 8, ip + 40), Buffer.from([0, 0, len >> 8, len & 0xff, 0, 0, 0, 58])]);
  const data = Buffer.concat([pseudo, frame.subarray(icmp)]);
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) | (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  frame.writeUInt16BE(~sum & 0xffff, icmp + 2);
  return frame;
}
const hex = (s: string): Buffer => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

const ours = withChecksum(
  hex(`
  333300000001 02770000000b 86dd            # Ethernet: all-nodes MAC, our MAC, IPv6
  60000000 0018 3a ff                       # IPv6: version 6, payload 24, ICMPv6, hop limit 255
  fe80000000000000007700fffe00000b          # source: our link-local
  ff020000000000000000000000000001          # destination: all nodes
  86 00 0000                                # RA, code 0, checksum (filled in)
  00 00 0000                                # cur hop limit 0, flags 0, router lifetime 0
  00000000 00000000                         # reachable time, retrans timer
  01 01 02770000000b                        # source link-layer address option
`),
);

const frr = withChecksum(
  hex(`
  333300000001 027700000001 86dd
  60000000 0038 3a ff                       # payload 56
  fe80000000000000007700fffe000001          # the router's link-local
  ff020000000000000000000000000001
  86 00 0000
  40 00 001e                                # cur hop limit 64, flags 0, router lifetime 30 s
  00000000 00000000
  03 04 40 c0 00278d00 00093a80 00000000    # prefix information: fd00:77::/64, on-link, auto
  fd000077000000000000000000000000
  01 01 027700000001                        # source link-layer address option
`),
);

t.test('our RA: lifetime 0, no prefix, our MAC, byte for byte', async (t) => {
  t.equal(encodeRouterAdvert('02:77:00:00:00:0b', 'fe80::77:ff:fe00:b').toString('hex'), ours.toString('hex'));
  t.same(decodeRouterAdvert(ours), { source: 'fe80::77:ff:fe00:b', sourceMac: '02:77:00:00:00:0b', routerLifetimeSec: 0 }, 'round trip');
});

t.test("FRR's RA gives the router's link-local", async (t) => {
  t.same(decodeRouterAdvert(frr), { source: 'fe80::77:ff:fe00:1', sourceMac: '02:77:00:00:00:01', routerLifetimeSec: 30 });
  const padded = Buffer.concat([frr, Buffer.alloc(4)]);
  t.same(decodeRouterAdvert(padded)?.source, 'fe80::77:ff:fe00:1', 'Ethernet padding ignored');
});

t.test('invalid RAs are dropped (RFC 4861 §6.1.2), never thrown', async (t) => {
  const mutate = (at: number, v: number, fix = true): Buffer => {
    const b = Buffer.from(frr);
    b[at] = v;
    return fix ? withChecksum(b) : b;
  };
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['truncated', frr.subarray(0, 60)],
    ['hop limit 64', mutate(14 + 7, 64)],
    ['code 1', mutate(54 + 1, 1)],
    ['bad checksum', mutate(54 + 2, frr[56]! ^ 0xff, false)],
    ['global source', mutate(14 + 8, 0xfd)],
    ['router solicitation', mutate(54, 133)],
    ['IPv4 EtherType', mutate(12, 0x08)],
    ['payload length beyond the frame', mutate(14 + 5, 0xff, false)],
  ];
  for (const [name, frame] of cases) t.equal(decodeRouterAdvert(frame), undefined, name);
});
