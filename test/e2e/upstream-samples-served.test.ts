// End to end, upstream's sample manifests served, not only validated: the same objects that
// test/config checks (test/fixtures/config/upstream/, read through upstreamSampleObjects) are
// applied to a real apiserver with a speaker and FRR, one sample at a time, each against an FRR
// configured for that sample's ASNs. Each sample peer must be Established in FRR, receive the
// Service's route, and show Established in its BGPSessionState. Then upstream's vrf sample, which
// this speaker cannot serve, sits next to a good sample peer: the good one keeps its route and the
// vrf one's BGPSessionState says why. (The L2 VIP beside a broken peer is covered by
// bgp-bfd-isolation.test.ts with the same disabled-peer path.)
//
// Lab adjustments: every sample's peerAddress is 172.30.0.3, outside the lab, so the good samples
// get the lab router's address instead; ASNs, timers and other fields stay as written. The vrf
// sample is applied unchanged (no session is ever opened to it).
import t from 'tap';
import { stringify } from 'yaml';
import { startCluster, RELEASE_NAMESPACE, type Cluster } from '../harness/cluster';
import { waitFor } from '../harness/lab';
import { startFrr, type FrrOptions } from '../harness/routers/frr';
import { createService } from '../fixtures/e2e/kit';
import { BGP_POOL_YAML } from '../fixtures/e2e/bfd-scenario';
import { upstreamSampleObjects, type SampleObject } from '../fixtures/config/load';
import type { SessionStateBody } from '../../src/speaker/session-states';

/** A sample's objects with the good peers pointed at the lab router. */
function served(file: string, peerAddress: string | undefined): { yaml: string; objects: SampleObject[] } {
  const objects = upstreamSampleObjects(file).map((o) =>
    o.kind === 'BGPPeer' && peerAddress !== undefined ? { ...o, spec: { ...o.spec, peerAddress } } : o,
  );
  t.ok(objects.length > 0, `${file} holds objects`);
  return { yaml: objects.map((o) => stringify(o)).join('---\n'), objects };
}

async function sessionStates(c: Cluster): Promise<Map<string, SessionStateBody>> {
  const r = (await c.custom.listNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: RELEASE_NAMESPACE, plural: 'bgpsessionstates' })) as {
    items: { status?: SessionStateBody }[];
  };
  return new Map(r.items.flatMap((o) => (o.status ? [[o.status.bgpPeer, o.status] as const] : [])));
}

async function remove(c: Cluster, objects: readonly SampleObject[]): Promise<void> {
  for (const o of objects) {
    const r = await c.cp.kubectl(['delete', o.kind.toLowerCase(), o.metadata.name, '-n', RELEASE_NAMESPACE, '--wait=false']);
    if (r.code !== 0) throw new Error(`delete ${o.kind}/${o.metadata.name}: ${r.stderr}`);
  }
}

t.test("upstream's samples served: Established in FRR, the route arrives, BGPSessionState says so", async (t) => {
  const c = await startCluster(t, { nodes: 1 });
  const node = c.lab.nodes[0]!;
  const router = c.lab.router;
  await c.apply(BGP_POOL_YAML);
  await c.startController();
  await c.startSpeaker(0);
  await createService(c, 'demo', 'routed', { pool: 'bgp' });
  await c.setEndpoints('demo', 'routed', [node.name]);
  const [vip] = await c.waitForIngress('demo', 'routed', 60_000);
  const prefix = `${vip}/32`;

  /** FRR for one sample: its own ASN, our node as the neighbor with the sample's ASN. */
  const frrFor = (name: string, asn: number, remoteAs: number, extra: Partial<FrrOptions> = {}) =>
    startFrr(c.lab, { asn, routerId: router.ipv4, name, neighbors: [{ address: node.ipv4, remoteAs, families: ['ipv4'] }], ...extra });

  const serve = async (tt: { pass(m: string): void; match(a: unknown, b: unknown, m: string): void }, file: string, peerName: string, frr: Awaited<ReturnType<typeof frrFor>>): Promise<SampleObject[]> => {
    const { yaml, objects } = served(file, router.ipv4);
    await c.apply(yaml);
    await frr.waitEstablished(node.ipv4, 60_000);
    tt.pass(`${file}: Established in FRR`);
    await frr.waitRoute(prefix, undefined, 30_000);
    tt.pass(`${file}: ${prefix} reached FRR`);
    const state = await waitFor(`${peerName} Established in its BGPSessionState`, async () => ((s) => (s?.bgpStatus === 'Established' ? s : undefined))((await sessionStates(c)).get(peerName)), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    tt.match(state, { peer: router.ipv4, bgpStatus: 'Established' }, `${peerName}: Established in BGPSessionState`);
    return objects;
  };

  t.test('bgppeer_with_bfdprofile.yaml: iBGP 64512 with its BFD timers (380 ms RX, 270 ms TX)', async (t) => {
    const frr = await frrFor('frr-bfd', 64512, 64512, {
      bgpExtra: ` neighbor ${node.ipv4} bfd`,
      bfdPeers: [{ address: node.ipv4, localAddress: router.ipv4 }],
    });
    const objects = await serve(t, 'bgppeer_with_bfdprofile.yaml', 'peer', frr);
    const bfd = await waitFor(
      "bfdd to see the sample's timers",
      async () => (await frr.bfdPeers()).find((p) => p.peer === node.ipv4 && p.status === 'up' && p['remote-transmit-interval'] === 270),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    t.equal(bfd['remote-receive-interval'], 380, 'bfdd sees receiveInterval 380');
    t.equal(bfd['remote-transmit-interval'], 270, 'and transmitInterval 270');
    await waitFor('bfdStatus up', async () => (await sessionStates(c)).get('peer')?.bfdStatus === 'up', { timeoutMs: 30_000, intervalMs: 200 });
    t.pass('BGPSessionState: bfdStatus up');
    await remove(c, objects);
    await frr.stop();
  });

  t.test('bgppeer_with_session_options.yaml: connectTime 120s', async (t) => {
    const frr = await frrFor('frr-session-options', 64512, 64512);
    const objects = await serve(t, 'bgppeer_with_session_options.yaml', 'peer', frr);
    await remove(c, objects);
    await frr.stop();
  });

  t.test('bgppeer_with_localasn.yaml, then the vrf sample next to it', async (t) => {
    // The sample: myASN 64512, peerASN 64520, localASN 65410: FRR (AS 64520) sees us as 65410.
    const frr = await frrFor('frr-localasn', 64520, 65410);
    await serve(t, 'bgppeer_with_localasn.yaml', 'example', frr);
    t.equal((await frr.neighbor(node.ipv4))?.remoteAs, 65410, 'FRR sees the local AS override');

    await c.apply(served('bgppeer_with_vrf.yaml', undefined).yaml);
    const broken = await waitFor('the vrf peer Disabled in its BGPSessionState', async () => ((s) => (s?.bgpStatus === 'Disabled' ? s : undefined))((await sessionStates(c)).get('peer')), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    t.match(broken, { peer: '172.30.0.3', vrf: 'red', bgpStatus: 'Disabled', lastError: /vrf is not supported by this speaker/ }, `the vrf peer says why: ${broken.lastError}`);
    t.equal((await sessionStates(c)).get('example')?.bgpStatus, 'Established', 'the good sample peer stays Established');
    t.ok((await frr.bgpTable('ipv4'))[prefix], `${prefix} is still in FRR's table`);
  });
});
