// Self-test of lab.capture and lab.neighbors (docs/architecture.md §9): a gratuitous ARP sent with
// `arping -U -s VIP` from a node is captured on the router's bridge and decoded; IPv6 neighbour
// discovery shows up as NS/NA frames; the router's neighbour table gains entries after pings.
import t from 'tap';
import { createLab } from '../harness/lab';
import { ArpOp, EtherType, Icmpv6Type } from '../harness/lab-frames';

t.test('gratuitous ARP from a node is captured and parsed; neighbours after ping', async (t) => {
  const lab = await createLab({ nodes: 2, name: 'capture' });
  t.teardown(() => lab.destroy());
  const [n1, n2] = lab.nodes;
  if (n1 === undefined || n2 === undefined) throw new Error('no nodes');

  const cap = await lab.capture(lab.router, 'br0', 'arp or icmp6');
  // -s VIP works without the VIP on the node thanks to ip_nonlocal_bind=1
  // (docs/architecture.md §9.8).
  await lab.run(n1, ['arping', '-U', '-I', 'eth0', '-s', '10.77.0.160', '-c', '1', '10.77.0.160']);
  const garp = await cap.waitFrame((f) => f.arp?.senderIp === '10.77.0.160', 5000, 'the gratuitous ARP');
  t.match(
    garp,
    {
      src: n1.mac,
      dst: 'ff:ff:ff:ff:ff:ff',
      ethertype: EtherType.ARP,
      arp: { op: ArpOp.Request, senderMac: n1.mac, senderIp: '10.77.0.160', targetIp: '10.77.0.160' },
    },
    'GARP: broadcast request, sender = target = VIP, sender MAC = node 1',
  );

  // IPv6: the first ping makes the router solicit node 2 and node 2 advertise itself.
  t.ok((await lab.ping(lab.router, n2.ipv6)).ok, 'router pings node 2 over IPv6');
  const na = await cap.waitFrame(
    (f) => f.icmpv6?.type === Icmpv6Type.NeighborAdvert && f.icmpv6.target === n2.ipv6,
    5000,
    'the NA for node 2',
  );
  t.match(na, { src: n2.mac, ipv6: { hopLimit: 255 }, icmpv6: { solicited: true } }, 'NA from node 2, hop limit 255');
  const frames = await cap.stop();
  t.ok(frames.some((f) => f.icmpv6?.type === Icmpv6Type.NeighborSolicit && f.icmpv6.target === n2.ipv6), 'NS captured too');
  t.same(await cap.stop(), frames, 'stop is idempotent');

  t.ok((await lab.ping(lab.router, n1.ipv4)).ok, 'router pings node 1 over IPv4');
  const v4 = await lab.neighbors(lab.router, 'ipv4');
  t.match(
    v4.find((e) => e.dst === n1.ipv4),
    { dev: 'br0', lladdr: n1.mac },
    'router has node 1 in its ARP table with the right MAC',
  );
  const v6 = await lab.neighbors(lab.router, 'ipv6');
  t.match(
    v6.find((e) => e.dst === n2.ipv6),
    { dev: 'br0', lladdr: n2.mac },
    'router has node 2 in its IPv6 neighbour table',
  );
});

t.test('capture start fails fast with tcpdump’s message on a bad interface', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'capture-bad' });
  t.teardown(() => lab.destroy());
  await t.rejects(lab.capture(lab.router, 'nosuchif0', 'arp'), { code: 'MLB_ERR_LAB', message: /tcpdump exited/ });
});
