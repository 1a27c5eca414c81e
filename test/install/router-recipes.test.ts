/**
 * The router recipes of docs/routers.md, as written there. Each recipe's router
 * configuration starts (FRR or BIRD) in a lab namespace, its BGPPeer is applied to a running
 * metallb-ts (controller + three speakers, test/harness/cluster.ts), and the router must learn
 * the Service IP the way the page says: sessions Established with MD5 on every connection,
 * routes through the eBGP policy, one path per node (ECMP) down to the kernel, and across an
 * intermediate router for multihop.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startCluster, type Cluster } from '../harness/cluster';
import { waitFor } from '../harness/lab';
import { startFrr, type FrrPath } from '../harness/routers/frr';
import { repoRoot } from '../harness/tools';
import { createService } from '../fixtures/e2e/kit';
import { bgpAdvertisement, pool, toYaml } from '../fixtures/manifests/metallb-config';
import { addFarRouter, bgpConnections, recipeBlocks, startRawBird } from '../fixtures/chart/router-recipes';

const recipes = recipeBlocks(readFileSync(join(repoRoot, 'docs', 'routers.md'), 'utf8'));

function recipe(name: string): string {
  const text = recipes.get(name);
  if (text === undefined) throw new Error(`docs/routers.md has no recipe ${name} (has ${[...recipes.keys()].join(', ')})`);
  return text;
}

/** The FRR options that add nothing to a recipe: startFrr writes only `router bgp ASN` + router-id around it. */
function frrOptionsFor(config: string): { asn: number; routerId: string } {
  const asn = /^router bgp (\d+)$/m.exec(config)?.[1];
  const routerId = /^ bgp router-id (\S+)$/m.exec(config)?.[1];
  if (!asn || !routerId) throw new Error('recipe has no router bgp / bgp router-id');
  return { asn: Number(asn), routerId };
}

async function kubectl(c: Cluster, args: string[], input: string): Promise<void> {
  const r = await c.cp.kubectl(args, { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
}

/** Test-only: a pool the recipes' import policies must reject (not part of docs/routers.md). */
const OUTSIDE_POOL = toYaml([pool('outside', ['10.77.0.200/32'], { autoAssign: false }), bgpAdvertisement('outside', { ipAddressPools: ['outside'] })]);

const usedPaths = (paths: readonly FrrPath[]): readonly FrrPath[] => paths.filter((p) => p.valid === true && (p.bestpath === true || p.multipath === true));

t.test('docs/routers.md recipes against metallb-ts speakers', async (t) => {
  t.same([...recipes.keys()].sort(), ['bird', 'bird-metallb', 'frr-gui', 'frr-gui-metallb', 'frr-lan', 'frr-lan-metallb', 'frr-multihop', 'frr-multihop-metallb', 'metallb-pool'], 'every recipe of the page is run below');
  const c = await startCluster(t, { nodes: 3, client: false });
  const { lab } = c;
  await c.apply(recipe('metallb-pool'));
  await c.startController();
  for (let i = 0; i < lab.nodes.length; i++) await c.startSpeaker(i);
  await createService(c, 'demo', 'web');
  await c.setEndpoints('demo', 'web', lab.nodes.map((n) => n.name));
  const [vip] = await c.waitForIngress('demo', 'web', 60_000);
  if (!vip) throw new Error('no ingress IP');
  const prefix = `${vip}/32`;
  // A second pool outside the block the recipes' policies accept: its /32 must be filtered out.
  await c.apply(OUTSIDE_POOL);
  await createService(c, 'demo', 'outside', { pool: 'outside' });
  await c.setEndpoints('demo', 'outside', lab.nodes.map((n) => n.name));
  const [outsideVip] = await c.waitForIngress('demo', 'outside', 60_000);
  t.equal(outsideVip, '10.77.0.200', 'a Service outside the accepted block');
  const outsidePrefix = '10.77.0.200/32';
  const nodeIps = lab.nodes.map((n) => n.ipv4).sort();

  /** Apply a recipe's metallb objects for the duration of `body`, then delete them. */
  const withPeer = async (name: string, body: () => Promise<void>): Promise<void> => {
    await c.apply(recipe(name));
    try {
      await body();
    } finally {
      await kubectl(c, ['delete', '-f', '-', '--wait=false'], recipe(name));
    }
  };

  for (const [name, label] of [
    ['frr-lan', 'FRR on the node LAN: policy route-maps, listen range, ECMP, MD5'],
    ['frr-gui', 'pfSense/OPNsense FRR config: per-node neighbors, policy, ECMP, MD5'],
  ] as const) {
    await t.test(label, async (t) => {
      const config = recipe(name);
      const frr = await startFrr(lab, { ...frrOptionsFor(config), ebgpRequiresPolicy: true, routeMaps: false, extraConfig: config, name });
      t.teardown(() => frr.stop());
      t.notMatch(await frr.vtysh('show running-config'), /no bgp ebgp-requires-policy/, 'FRR keeps its ebgp-requires-policy default');
      // Observation only: keep what each node sent before the inbound policy, to show what it dropped.
      const group = name === 'frr-lan' ? ['METALLB'] : nodeIps;
      await frr.vtysh('configure terminal', `router bgp ${frrOptionsFor(config).asn}`, 'address-family ipv4 unicast', ...group.map((g) => `neighbor ${g} soft-reconfiguration inbound`));
      await withPeer(`${name}-metallb`, async () => {
        for (const ip of nodeIps) {
          await frr.waitEstablished(ip, 60_000);
          t.pass(`${ip} Established`);
        }
        const conns = await waitFor('three BGP connections', async () => {
          const list = await bgpConnections(lab, lab.router.ns);
          return list.length === 3 ? list : undefined;
        }, { timeoutMs: 10_000 });
        t.same(conns.map((x) => x.peer).sort(), nodeIps, 'one connection per node');
        t.ok(conns.every((x) => x.md5), `every connection carries an MD5 key: ${JSON.stringify(conns)}`);
        const paths = await frr.waitRoute(prefix, (p) => usedPaths(p).length === 3, 60_000);
        t.same(usedPaths(paths).map((p) => p.nexthops?.[0]?.ip).sort(), nodeIps, `${prefix}: three paths in use (ECMP), through the policy`);
        const route = await frr.waitKernelRoute(prefix, (r) => (r.nexthops?.length ?? 0) === 3, 30_000);
        t.same(route.nexthops?.map((h) => h.gateway).sort(), nodeIps, 'kernel route with one next hop per node');
        for (const ip of nodeIps) {
          const received = await waitFor(`${ip}'s routes before policy`, async () => {
            const r = JSON.parse(await frr.vtysh(`show bgp ipv4 unicast neighbors ${ip} received-routes json`)) as { receivedRoutes?: Record<string, unknown> };
            const keys = Object.keys(r.receivedRoutes ?? {}).sort();
            return keys.length === 2 ? keys : undefined;
          }, { timeoutMs: 30_000 });
          t.same(received, [prefix, outsidePrefix].sort(), `${ip} sent both /32s`);
        }
        const table = await frr.bgpTable('ipv4');
        t.same(Object.keys(table), [prefix], `the route-map let only ${prefix} in; ${outsidePrefix} was dropped`);
      });
      await frr.stop();
    });
  }

  await t.test('FRR two hops away: eBGP multihop, policy, MD5', async (t) => {
    const far = await addFarRouter(lab, t);
    const config = recipe('frr-multihop');
    const frr = await startFrr(lab, { ...frrOptionsFor(config), ebgpRequiresPolicy: true, routeMaps: false, extraConfig: config, name: 'frr-multihop', ns: far.ns });
    t.teardown(() => frr.stop());
    // The nodes' sessions must cross the lab router: it is really two hops.
    const trace = await lab.exec(lab.nodes[0]!.ns, ['ping', '-c1', '-W1', '-t1', far.address]);
    t.not(trace.code, 0, `TTL 1 from a node does not reach ${far.address}`);
    await withPeer('frr-multihop-metallb', async () => {
      for (const ip of nodeIps) {
        await frr.waitEstablished(ip, 60_000);
        t.pass(`${ip} Established across the lab router`);
      }
      const conns = await bgpConnections(lab, far.ns);
      t.ok(conns.length === 3 && conns.every((x) => x.md5), `three MD5 connections: ${JSON.stringify(conns)}`);
      const paths = await frr.waitRoute(prefix, (p) => p.filter((x) => x.valid === true).length === 3, 60_000);
      t.same(paths.map((p) => p.nexthops?.[0]?.ip).sort(), nodeIps, `${prefix} from each node`);
    });
    await frr.stop();
  });

  await t.test('BIRD 2: filters, MD5, ECMP through merge paths', async (t) => {
    const bird = await startRawBird(lab, lab.router.ns, recipe('bird'), 'bird-recipe');
    t.teardown(() => bird.stop());
    await withPeer('bird-metallb', async () => {
      const protocols = await waitFor('node1..node3 Established', async () => {
        const list = (await bird.protocols()).filter((p) => p.proto === 'BGP');
        return list.length === 3 && list.every((p) => p.info.startsWith('Established')) ? list : undefined;
      }, { timeoutMs: 60_000 });
      t.same(protocols.map((p) => p.name), ['node1', 'node2', 'node3'], 'three sessions Established');
      const conns = await bgpConnections(lab, lab.router.ns);
      t.ok(conns.length === 3 && conns.every((x) => x.md5), `three MD5 connections: ${JSON.stringify(conns)}`);
      const routes = await waitFor(`BIRD to import ${prefix} from three nodes`, async () => {
        const r = (await bird.routes())[prefix];
        return r && r.filter((l) => /via 10\.77\.0\.1\d/.test(l)).length === 3 ? r : undefined;
      }, { timeoutMs: 60_000 });
      t.ok(routes, `${prefix} imported: ${routes.join(' | ')}`);
      const kernel = await waitFor('a multipath kernel route', async () => (await lab.routes(lab.router.ns, 'ipv4')).find((r) => r.dst === vip && (r.nexthops?.length ?? 0) === 3), { timeoutMs: 30_000 });
      t.same(kernel.nexthops?.map((h) => h.gateway).sort(), nodeIps, 'kernel route with one next hop per node');
      t.equal((await bird.routes())[outsidePrefix], undefined, `${outsidePrefix} not imported`);
      for (const node of ['node1', 'node2', 'node3']) {
        const filtered = await waitFor(`${node}: ${outsidePrefix} filtered`, async () => {
          const stats = /Import updates:\s+(\d+)\s+(\d+)\s+(\d+)/.exec(await bird.birdc('show', 'protocols', 'all', node));
          return stats && Number(stats[3]) >= 1 ? Number(stats[3]) : undefined;
        }, { timeoutMs: 30_000 });
        t.ok(filtered >= 1, `${node}: the import filter rejected ${filtered} update(s)`);
      }
    });
    await bird.stop();
  });
});
