// Self-test of the FRR router wrapper against GoBGP as the speaker (docs/architecture.md §9.3):
// routes added in GoBGP reach FRR's BGP table and the router namespace's kernel, over IPv4 and IPv6
// sessions; withdrawals are seen too. FRR connects to a listening gobgpd (GoBGP's own first connect
// waits 5-10 s, docs/architecture.md §9.4).
import t from 'tap';
import { createLab } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import { startGobgp } from '../harness/routers/gobgp';

t.test('FRR in the router ns learns GoBGP routes into BGP JSON and the kernel', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'frr-gobgp' });
  t.teardown(() => lab.destroy());
  const node = lab.nodes[0];
  if (node === undefined) throw new Error('no node');

  const frr = await startFrr(lab, {
    asn: 64501,
    routerId: lab.router.ipv4,
    neighbors: [
      { address: node.ipv4, remoteAs: 64500 },
      { address: node.ipv6, remoteAs: 64500 },
    ],
  });
  const gobgp = await startGobgp(lab, {
    ns: node.ns,
    asn: 64500,
    routerId: node.ipv4,
    neighbors: [
      { address: lab.router.ipv4, remoteAs: 64501 },
      { address: lab.router.ipv6, remoteAs: 64501 },
    ],
  });
  await gobgp.addRoute('10.77.0.200/32');
  await gobgp.addRoute('fd00:77::200/128');

  const v4 = await frr.waitEstablished(node.ipv4, 10_000);
  t.equal(v4.bgpState, 'Established', 'IPv4 session Established');
  await frr.waitEstablished(node.ipv6, 10_000);
  t.equal(await gobgp.neighborState(lab.router.ipv4), 'established', 'GoBGP agrees');

  const paths4 = await frr.waitRoute('10.77.0.200/32');
  t.equal(paths4[0]?.path, '64500', 'AS path is the node AS');
  t.equal(paths4[0]?.nexthops?.[0]?.ip, node.ipv4, 'next hop is the node');
  const paths6 = await frr.waitRoute('fd00:77::200/128');
  t.ok(paths6.some((p) => p.valid === true && p.bestpath === true), 'IPv6 route valid and best');

  const k4 = await frr.waitKernelRoute('10.77.0.200/32');
  t.match(k4, { dst: '10.77.0.200', gateway: node.ipv4, dev: 'br0', protocol: 'bgp' }, 'IPv4 route in the kernel');
  const k6 = await frr.waitKernelRoute('fd00:77::200/128');
  t.match(k6, { dst: 'fd00:77::200', gateway: node.ipv6, protocol: 'bgp' }, 'IPv6 route in the kernel');
  t.ok((await frr.kernelRoutes()).some((r) => r.dst === 'fd00:77::200'), 'kernelRoutes() lists both families');

  await gobgp.delRoute('10.77.0.200/32');
  await frr.waitRouteGone('10.77.0.200/32');
  t.notOk((await frr.kernelRoutes('ipv4')).some((r) => r.dst === '10.77.0.200'), 'withdrawn route left the kernel');

  await gobgp.stop();
  t.ok(await frr.neighbor(node.ipv4), 'neighbor() still reports a configured peer');
  t.equal(await frr.neighbor('10.77.0.99'), undefined, 'neighbor() of an unknown address is undefined');
  await frr.stop();
});

t.test('FRR with ebgp-requires-policy: route-maps accept, no policy discards; TCP MD5', async (t) => {
  const lab = await createLab({ nodes: 2, name: 'frr-policy' });
  t.teardown(() => lab.destroy());
  const [n1, n2] = lab.nodes;
  if (n1 === undefined || n2 === undefined) throw new Error('no nodes');
  // Router 1 (default ns) keeps RFC 8212 on with ACCEPT route-maps; router 2 runs without zebra
  // in node 2's namespace, with the policy on and no route-maps (what real users often hit).
  // Router 1's session also carries a TCP MD5 key (RFC 2385) on both sides.
  const withMaps = await startFrr(lab, {
    asn: 64501,
    routerId: lab.router.ipv4,
    ebgpRequiresPolicy: true,
    neighbors: [{ address: n1.ipv4, remoteAs: 64500, password: 'lab-md5-key' }],
  });
  const noPolicy = await startFrr(lab, {
    ns: n2.ns,
    asn: 64502,
    routerId: n2.ipv4,
    zebra: false,
    ebgpRequiresPolicy: true,
    routeMaps: false,
    neighbors: [{ address: n1.ipv4, remoteAs: 64500 }],
  });
  const gobgp = await startGobgp(lab, {
    ns: n1.ns,
    asn: 64500,
    routerId: n1.ipv4,
    neighbors: [
      { address: lab.router.ipv4, remoteAs: 64501, password: 'lab-md5-key' },
      { address: n2.ipv4, remoteAs: 64502 },
    ],
  });
  await gobgp.addRoute('10.77.0.201/32');
  await withMaps.waitRoute('10.77.0.201/32');
  t.pass('route accepted through route-map ACCEPT');
  const ss = await lab.run(n1, ['ss', '-tni', 'dst', lab.router.ipv4]);
  t.match(ss, /md5keys/, 'the session socket carries the MD5 key');
  await noPolicy.waitEstablished(n1.ipv4);
  const summary = await noPolicy.vtysh('show bgp ipv4 unicast summary');
  t.match(summary, /\(Policy\)/, 'FRR reports the missing policy');
  t.same(await noPolicy.bgpTable('ipv4'), {}, 'and keeps the BGP table empty');
});
