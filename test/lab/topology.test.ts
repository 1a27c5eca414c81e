// Self-test of the lab topology (docs/architecture.md §9.1): router, two nodes and a client on one
// bridge, IPv4 and IPv6 reachability in every direction that matters, the addresses, MACs and
// sysctls the L2 tests rely on, VIPs on lo, and bridge-port failure.
import t from 'tap';
import { createLab, labMac, waitFor } from '../harness/lab';

t.test('two nodes + client: addresses, pings, VIPs, link down/up', async (t) => {
  const lab = await createLab({ nodes: 2, client: true, name: 'topology' });
  t.teardown(() => lab.destroy());
  const [n1, n2] = lab.nodes;
  const client = lab.client;
  if (n1 === undefined || n2 === undefined || client === undefined) throw new Error('lab is missing hosts');

  t.same(
    [lab.router.ipv4, lab.router.ipv6, client.ipv4, client.ipv6, n1.ipv4, n1.ipv6, n2.ipv4, n2.ipv6],
    ['10.77.0.1', 'fd00:77::1', '10.77.0.2', 'fd00:77::2', '10.77.0.11', 'fd00:77::11', '10.77.0.12', 'fd00:77::12'],
    'address scheme: router .1, client .2, node i .(10+i)',
  );
  t.ok(new Set(lab.namespaces).size === 4 && lab.namespaces.every((ns) => ns.startsWith(`mlb${process.pid}x`)), 'namespaces carry the pid');

  // The recorded MAC is what the kernel really uses.
  for (const host of [n1, n2, client]) {
    const links = JSON.parse(await lab.run(host, ['ip', '-j', 'link', 'show', 'dev', 'eth0'])) as { address: string }[];
    t.equal(links[0]?.address, host.mac, `${host.ns} eth0 MAC recorded`);
  }
  t.equal(n1.mac, labMac(11));

  for (const [from, to] of [
    [lab.router, n1],
    [n1, lab.router],
    [client, n1],
    [n2, client],
    [client, n2],
  ] as const) {
    for (const addr of [to.ipv4, to.ipv6]) {
      const r = await lab.ping(from, addr);
      t.ok(r.ok, `${from.ns} -> ${addr}: ${r.ok ? 'reply' : r.stdout + r.stderr}`);
    }
  }

  const sysctl = await lab.run(n1, [
    'sysctl',
    '-n',
    'net.ipv4.conf.all.arp_ignore',
    'net.ipv4.conf.eth0.arp_ignore',
    'net.ipv4.ip_nonlocal_bind',
    'net.ipv6.conf.eth0.accept_dad',
  ]);
  t.same(sysctl.trim().split('\n'), ['1', '1', '1', '0'], 'node sysctls: arp_ignore, nonlocal bind, no DAD');

  // A VIP on a node's lo is reachable from the node itself, not announced by anyone yet.
  await lab.addVip(0, '10.77.0.150');
  await lab.addVip(0, 'fd00:77::150');
  const addrs = await lab.run(n1, ['ip', '-br', 'addr', 'show', 'dev', 'lo']);
  t.match(addrs, /10\.77\.0\.150\/32/, 'IPv4 VIP on lo');
  t.match(addrs, /fd00:77::150\/128/, 'IPv6 VIP on lo');
  t.ok((await lab.ping(n1, '10.77.0.150')).ok, 'node reaches its own VIP');
  // arp_ignore=1: the node's kernel does not answer ARP for an address that is not on eth0.
  t.notOk((await lab.ping(lab.router, '10.77.0.150', { waitSec: 0.5 })).ok, 'router cannot reach an unannounced VIP');
  await lab.delVip(0, '10.77.0.150');

  await lab.linkDown(0);
  t.notOk((await lab.ping(lab.router, n1.ipv4, { waitSec: 0.5 })).ok, 'node 1 unreachable with its bridge port down');
  t.ok((await lab.ping(lab.router, n2.ipv4)).ok, 'node 2 unaffected');
  await lab.linkUp(0);
  await waitFor('node 1 to answer again after linkUp', async () => (await lab.ping(lab.router, n1.ipv4)).ok, { timeoutMs: 5000 });
  t.pass('node 1 reachable again after linkUp');

  // A static route in the client (how a client reaches BGP-announced VIPs through the router).
  await lab.addRoute(client, '10.77.0.200/32', lab.router.ipv4);
  await lab.addRoute(client, 'fd00:77::200/128', lab.router.ipv6);
  t.match(
    (await lab.routes(client, 'ipv4')).find((r) => r.dst === '10.77.0.200'),
    { gateway: lab.router.ipv4, dev: 'eth0' },
    'client IPv4 route via the router',
  );
  t.ok((await lab.routes(client, 'ipv6')).some((r) => r.dst === 'fd00:77::200' && r.gateway === lab.router.ipv6), 'client IPv6 route');

  // Only the lab's own veths are bridge ports: the root namespace is never attached.
  const ports = JSON.parse(await lab.run(lab.router, ['ip', '-j', 'link', 'show', 'master', 'br0'])) as { ifname: string }[];
  t.same(ports.map((p) => p.ifname).sort(), ['cl', 'n1', 'n2'], 'bridge ports');
});

t.test('createLab rejects a bad node count before touching anything', async (t) => {
  await t.rejects(createLab({ nodes: 0 }), { code: 'MLB_ERR_LAB' });
  await t.rejects(createLab({ nodes: 90 }), { code: 'MLB_ERR_LAB' });
});
