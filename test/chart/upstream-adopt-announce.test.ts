/**
 * docs/migration.md end to end, traffic included: test/chart/upstream-adopt.test.ts shows every
 * object and IP kept through `helm upgrade` from upstream's chart; here the upgraded release then
 * runs as a cluster would run it. The same upstream release (0.13.7 and 0.15.3, seed-like
 * configuration, 50 Services with upstream's assignments; test/fixtures/chart/upstream-release.ts)
 * is upgraded in place to our packaged chart, and the controller and one speaker per lab node
 * start from the upgraded Deployment and DaemonSet (test/fixtures/chart/installed.ts: their argv,
 * env, confinement and ServiceAccount tokens). Then, with no IP changed:
 * - both seed BGPPeers, FRR as router-a (AS 64513, the lab router) and router-b (AS 64514, the lab
 *   client), learn exactly the adopted /32s of the BGP pools (aggregationLength 32) from every
 *   speaker node, with community 65535:65282 (FRR: noAdvertise) and no LOCAL_PREF: these are eBGP
 *   sessions, where upstream sends none (RFC 4271 §5.1.5). So that localPref 100 shows too, the
 *   configuration gains an iBGP BGPPeer, router-c (AS 64512): FRR in a third node namespace that
 *   runs no speaker, which must show local preference 100 on every path. L2-only pools are not
 *   advertised;
 * - every L2 VIP of an adopted Service answers ARP from the lab client with one node's MAC.
 * One Kubernetes version (the control plane's own) is enough here: the adoption itself is checked
 * at the oldest declared version by upstream-adopt.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { waitFor } from '../harness/lab';
import { startFrr, type FrrHandle } from '../harness/routers/frr';
import { CHART_DIR } from '../fixtures/chart/helm';
import { installRelease } from '../fixtures/chart/installed';
import { macsAnswering } from '../fixtures/chart/install-checks';
import { APPS, assignAsUpstream, NS, ok, POOL_ANNOTATION, UPSTREAMS, upstreamChart, VALUES, type Svc } from '../fixtures/chart/upstream-release';
import { createKubeClient } from '../../src/k8s/client';

/** The seed BGPPeers' myASN (upstream-release.ts SEED). */
const NODE_ASN = 64512;
/** Speakers run on the first two lab nodes; the third namespace hosts router-c. */
const SPEAKER_NODES = 2;
/** Pools whose advertisement is BGP (the seed pool, and 0.13.7's converted legacy-bgp); the others are L2. */
const BGP_POOLS = new Set(['seed', 'legacy-bgp']);

/** One path of `show bgp ipv4 unicast <prefix> json` (FRR 8.4), the fields checked. */
interface DetailPath {
  readonly community?: { readonly string?: string; readonly list?: readonly string[] };
  readonly locPrf?: number;
  readonly localpref?: number;
  readonly nexthops?: readonly { readonly ip?: string }[];
  readonly peer?: { readonly peerId?: string };
}

/**
 * What is wrong with `prefix` on `frr`, one line per problem: paths from exactly `nodes`, each
 * with next hop its node, community 65535:65282 and LOCAL_PREF `localPref` (undefined: none).
 */
async function seedAttributeProblems(frr: FrrHandle, prefix: string, nodes: readonly string[], localPref: number | undefined): Promise<string[]> {
  const out = JSON.parse((await frr.vtysh(`show bgp ipv4 unicast ${prefix} json`)) || '{}') as { paths?: DetailPath[] };
  const paths = out.paths ?? [];
  const problems: string[] = [];
  const from = paths.map((p) => p.peer?.peerId ?? '').sort();
  if (JSON.stringify(from) !== JSON.stringify([...nodes].sort())) problems.push(`${prefix}: paths from ${from.join(', ')}`);
  for (const p of paths) {
    const peer = p.peer?.peerId ?? '?';
    // FRR prints the well-known 65535:65282 (NO_ADVERTISE) by its name.
    if (!p.community?.list?.some((c) => c === 'noAdvertise' || c === '65535:65282')) problems.push(`${prefix} from ${peer}: community ${p.community?.string}`);
    if ((p.locPrf ?? p.localpref) !== localPref) problems.push(`${prefix} from ${peer}: local preference ${p.locPrf ?? p.localpref}`);
    if (!p.nexthops?.some((h) => h.ip === peer)) problems.push(`${prefix} from ${peer}: next hops ${JSON.stringify(p.nexthops)}`);
  }
  return problems;
}

for (const up of UPSTREAMS) {
  t.test(`upgrade from upstream ${up.version}, then our speakers announce the adopted IPs (BGP to the seed peers, L2 ARP)`, async (t) => {
    const inst = await installRelease(t, { nodes: SPEAKER_NODES + 1, chart: upstreamChart(up), set: ['crds.validationFailurePolicy=Ignore'] });
    const { cp, lab } = inst;
    const speakerNodes = lab.nodes.slice(0, SPEAKER_NODES);
    const routerC = lab.nodes[SPEAKER_NODES]!;
    const ibgpPeer = { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'router-c', namespace: NS }, spec: { myASN: NODE_ASN, peerASN: NODE_ASN, peerAddress: routerC.ipv4 } };
    const client = createKubeClient(cp.kubeConfig);
    t.teardown(() => client.close());
    const pkgDir = mkdtempSync(join(tmpdir(), 'mlb-adopt-pkg-'));
    t.teardown(() => rmSync(pkgDir, { recursive: true, force: true }));
    const ourChart = (await ok(cp, ['helm', 'package', CHART_DIR, '--destination', pkgDir])).trim().split(': ').pop() as string;

    // Upstream's release as users run it: configuration, Services with upstream's IPs, and each
    // Service's endpoints on every node (upstream and we announce only Services with a ready endpoint).
    await ok(cp, ['create', 'namespace', APPS]);
    await ok(cp, ['apply', '-f', '-'], [...up.config, ibgpPeer].map((o) => JSON.stringify(o)).join('\n---\n'));
    const assigned = await assignAsUpstream(client, up);
    const discovery = cp.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    for (const name of assigned.keys()) {
      await discovery.createNamespacedEndpointSlice({
        namespace: APPS,
        body: {
          metadata: { name: `${name}-e2e`, labels: { 'kubernetes.io/service-name': name } },
          addressType: 'IPv4',
          endpoints: speakerNodes.map((n, i) => ({ addresses: [`10.244.${i}.10`], nodeName: n.name, conditions: { ready: true, serving: true } })),
          ports: [{ port: 80, protocol: 'TCP' }],
        },
      });
    }

    const upgrade = await cp.helm(['upgrade', 'metallb', ourChart, '-n', NS, ...VALUES]);
    t.equal(upgrade.code, 0, `helm upgrade to our chart${upgrade.code ? `: ${upgrade.stderr}` : ''}`);
    await inst.reload();

    // The seed peers: router-a in the lab router's namespace, router-b in the client's; router-c (iBGP) in the third node's.
    const nodeIps = speakerNodes.map((n) => n.ipv4);
    const neighbors = nodeIps.map((address) => ({ address, remoteAs: NODE_ASN, families: ['ipv4' as const] }));
    const routers = [
      { name: 'router-a', localPref: undefined, frr: await startFrr(lab, { asn: 64513, routerId: lab.router.ipv4, neighbors, name: 'frr-router-a' }) },
      { name: 'router-b', localPref: undefined, frr: await startFrr(lab, { asn: 64514, routerId: lab.client!.ipv4, ns: lab.client!.ns, neighbors, name: 'frr-router-b' }) },
      { name: 'router-c', localPref: 100, frr: await startFrr(lab, { asn: NODE_ASN, routerId: routerC.ipv4, ns: routerC.ns, neighbors, name: 'frr-router-c' }) },
    ];

    const controller = await inst.startController();
    t.ok(controller.spec.argv.includes('controller'), `controller from the upgraded Deployment: ${controller.spec.argv.slice(2).join(' ')}`);
    for (const n of speakerNodes) {
      const s = await inst.startSpeaker(n.index);
      t.equal(s.spec.env['METALLB_NODE_NAME'], n.name, `speaker on ${n.name} from the upgraded DaemonSet: ${s.spec.argv.slice(2).join(' ')}`);
    }

    for (const { name, frr } of routers) {
      for (const ip of nodeIps) {
        const n = await frr.waitEstablished(ip, 60_000);
        t.equal(n.bgpState, 'Established', `${name}: session with ${ip} (BGPPeer ${name})`);
      }
    }

    const byPool = (bgp: boolean): Array<[string, string]> =>
      [...assigned].filter(([, a]) => BGP_POOLS.has(a.pool) === bgp).map(([name, a]) => [name, a.ip]);
    const bgpPrefixes = byPool(true).map(([, ip]) => `${ip}/32`).sort();
    t.equal(bgpPrefixes.length, up.version === '0.13.7' ? 42 : 40, `${bgpPrefixes.length} adopted IPs in BGP pools`);
    for (const { name, frr, localPref } of routers) {
      const table = await waitFor(
        `${name}: exactly the ${bgpPrefixes.length} adopted /32s, each from both nodes`,
        async () => {
          const got = await frr.bgpTable('ipv4');
          const complete = Object.keys(got).length === bgpPrefixes.length && bgpPrefixes.every((p) => (got[p]?.length ?? 0) === nodeIps.length);
          return complete ? got : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      ).catch(async (err: unknown) => {
        t.fail(`${String(err)}; FRR has ${Object.keys(await frr.bgpTable('ipv4')).sort().join(' ')}`);
        return frr.bgpTable('ipv4');
      });
      t.same(Object.keys(table).sort(), bgpPrefixes, `${name} learnt exactly the adopted /32s of the BGP pools (aggregationLength 32), no L2 pool address`);
      const problems: string[] = [];
      for (const prefix of bgpPrefixes) problems.push(...(await seedAttributeProblems(frr, prefix, nodeIps, localPref)));
      t.same(problems, [], `${name}: every /32 from both nodes, next hop the node, community 65535:65282, ${localPref === undefined ? 'no LOCAL_PREF (eBGP)' : `LOCAL_PREF ${localPref} (iBGP)`}`);
    }

    const l2 = byPool(false);
    t.ok(l2.length >= 6, `${l2.length} adopted L2 VIPs: ${l2.map(([, ip]) => ip).join(' ')}`);
    const nodeMacs = new Set(speakerNodes.map((n) => n.mac));
    const [first] = l2;
    if (!first) throw new Error('no L2 Service');
    await waitFor(`one node's MAC answering ARP for ${first[1]}`, async () => {
      const macs = await macsAnswering(lab, first[1]);
      return macs.length === 1 && nodeMacs.has(macs[0]!) ? macs : undefined;
    }, { timeoutMs: 60_000 });
    const answers = await Promise.all(l2.map(async ([name, ip]) => [name, ip, await macsAnswering(lab, ip)] as const));
    const wrong = answers.filter(([, , macs]) => macs.length !== 1 || !nodeMacs.has(macs[0]!)).map(([name, ip, macs]) => `${name} ${ip}: ${macs.join(', ') || 'no answer'}`);
    t.same(wrong, [], `every adopted L2 VIP answers ARP from the client with exactly one node's MAC (${l2.length} VIPs)`);

    // Announcing changed nothing: every Service still holds its upstream IP, attributed to its pool.
    const services = (await client.list<Svc>(`/api/v1/namespaces/${APPS}/services`)).items;
    const changed = services.filter((s) => {
      const was = assigned.get(s.metadata.name);
      return s.status?.loadBalancer?.ingress?.map((i) => i.ip).join(',') !== was?.ip || (s.metadata.annotations?.[POOL_ANNOTATION] ?? was?.pool) !== was?.pool;
    });
    t.same(changed.map((s) => `${s.metadata.name}: ${JSON.stringify(s.status?.loadBalancer)}`), [], `zero IP changes over ${services.length} Services while announcing`);

    const codes = await inst.stopAll();
    for (const [pod, code] of Object.entries(codes)) t.equal(code, 0, `${pod} exited 0`);
  });
}
