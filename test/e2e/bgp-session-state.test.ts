// End to end, the BGPSessionState objects (docs/bgp.md "Session state") against a real apiserver
// and FRR with bfdd: one node, three BGPPeers. `router` (FRR, BFD profile) must show Established
// with BFD up; `refused` (the client namespace, where nothing listens on 179) Active with the
// connect error; `in-vrf` Disabled with the reason. `kubectl get bgpsessionstates -A` prints them
// through the CRD's printer columns, `metallb-ts status` reads them, a measured idle period with
// keepalives every second and a retrying peer rewrites nothing, a BFD Down turns `router` Idle, and
// a graceful stop deletes the node's objects.
import t from 'tap';
import { RELEASE_NAMESPACE, type Cluster } from '../harness/cluster';
import { waitFor } from '../harness/lab';
import { BGP_POOL_YAML, bfdProfileYaml, bgpPeerYaml, IN_VRF_PEER_YAML, startBfdScenario, yamlDocs } from '../fixtures/e2e/bfd-scenario';
import { runStatus, StatusExit } from '../../src/cli/status';
import type { SessionStateBody } from '../../src/speaker/session-states';

/** Keepalive every second (hold 3 s), so the idle period below spans several. */
const IDLE_MS = 3500;

const config = (c: Cluster): string =>
  yamlDocs(
    bfdProfileYaml('fast', { intervalMs: 200, mult: 3 }),
    bgpPeerYaml('router', c.lab.router.ipv4, 'holdTime: 3s, bfdProfile: fast'),
    bgpPeerYaml('refused', c.lab.client!.ipv4),
    IN_VRF_PEER_YAML,
    BGP_POOL_YAML,
  );

interface SessionObject {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string>; ownerReferences?: unknown[] };
  status?: SessionStateBody;
}

t.test('BGPSessionState: Established with BFD up, a refused peer, a disabled peer', async (t) => {
  const { c, node, frr } = await startBfdScenario(t, { timers: { intervalMs: 200, mult: 3 }, config, cluster: { client: true } });
  const router = c.lab.router;

  const list = async (): Promise<Map<string, SessionObject>> => {
    const r = (await c.custom.listNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: RELEASE_NAMESPACE, plural: 'bgpsessionstates' })) as { items: SessionObject[] };
    return new Map(r.items.map((o) => [o.status?.bgpPeer ?? '', o]));
  };
  const settled = (m: Map<string, SessionObject>): boolean =>
    m.get('router')?.status?.bgpStatus === 'Established' &&
    m.get('router')?.status?.bfdStatus === 'up' &&
    /ECONNREFUSED/.test(m.get('refused')?.status?.lastError ?? '') &&
    m.get('in-vrf')?.status?.bgpStatus === 'Disabled';
  const states = await waitFor('router Established with BFD up, refused with its error, in-vrf Disabled', async () => ((m) => (settled(m) ? m : undefined))(await list()), {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  await frr.waitEstablished(node.ipv4, 10_000);

  const routerRow = states.get('router')!;
  t.match(routerRow.status, { node: 'node1', peer: router.ipv4, vrf: '', bgpStatus: 'Established', bfdStatus: 'up' }, 'router: Established, BFD up');
  t.ok(Math.abs(Date.parse(routerRow.status?.establishedSince ?? '') - Date.now()) < 120_000, `establishedSince is a recent timestamp: ${routerRow.status?.establishedSince}`);
  t.notOk(routerRow.status?.lastError, 'no error on an Established session');
  t.same(routerRow.metadata.labels, { 'metallb.io/node': 'node1', 'metallb.io/peer': 'router' }, 'labelled with node and peer');
  t.match(states.get('refused')?.status, { peer: c.lab.client!.ipv4, bgpStatus: 'Active', bfdStatus: 'N/A', lastError: /connect ECONNREFUSED/ }, 'refused: Active with the connect error');
  t.notOk(states.get('refused')?.status?.establishedSince, 'and no establishedSince');
  t.match(states.get('in-vrf')?.status, { peer: '10.77.0.99', vrf: 'red', bgpStatus: 'Disabled', lastError: /vrf is not supported by this speaker/ }, 'in-vrf: Disabled with the reason');
  t.equal(states.size, 3, 'one object per peer');

  // What a user types; the columns are the CRD's additionalPrinterColumns, printed server-side
  // (kubectl leaves absent fields blank).
  const got = await c.cp.kubectl(['get', 'bgpsessionstates', '-A']);
  t.equal(got.code, 0, got.stderr);
  const lines = got.stdout.trim().split('\n');
  t.match(lines[0], /^NAMESPACE\s+NAME\s+NODE\s+PEER\s+ADDRESS\s+BGP\s+BFD\s+UP\s+LAST ERROR$/, `header: ${lines[0]}`);
  const row = (peer: string): string => lines.find((l) => new RegExp(`\\snode1\\s+${peer}\\s`).test(l)) ?? '';
  t.match(row('router'), new RegExp(`\\s${router.ipv4.replace(/\./g, '\\.')}\\s+Established\\s+up\\s+\\d+s\\s*$`), `router row: ${row('router')}`);
  t.match(row('refused'), /\sActive\s+N\/A\s+connect ECONNREFUSED/, `refused row: ${row('refused')}`);
  t.match(row('in-vrf'), /\sDisabled\s+N\/A\s+vrf is not supported by this speaker/, `in-vrf row: ${row('in-vrf')}`);
  const wide = await c.cp.kubectl(['get', 'bgpsessionstates', '-n', RELEASE_NAMESPACE, '-o', 'wide']);
  t.match(wide.stdout, /\sVRF\n/, 'VRF in the wide output');

  // metallb-ts status reads the same objects.
  const out: string[] = [];
  const code = await runStatus({ namespace: RELEASE_NAMESPACE, output: 'table', kubeconfig: c.cp.kubeconfigPath }, { stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
  t.equal(code, StatusExit.Ok);
  t.ok(out.some((l) => /^node1\s+router\s+\S+\s+Established\s+up\s+\d+s\s+<none>$/.test(l)), `metallb-ts status shows router Established:\n${out.join('\n')}`);
  t.ok(out.some((l) => /^node1\s+in-vrf\s+10\.77\.0\.99\s+Disabled\s+N\/A\s+<none>\s+vrf is not supported/.test(l)), 'and in-vrf Disabled');

  // Bounded writes: keepalives every second and a peer retrying every second change nothing.
  const before = await list();
  await new Promise((r) => setTimeout(r, IDLE_MS)); // a measured idle period, not a wait for a condition
  const after = await list();
  for (const peer of ['router', 'refused', 'in-vrf']) {
    t.equal(after.get(peer)?.metadata.resourceVersion, before.get(peer)?.metadata.resourceVersion, `${peer}: not rewritten in ${IDLE_MS} ms of keepalives and retries`);
  }

  // BFD Down holds the session closed: Idle, with the reason.
  await c.lab.linkDown(node.index);
  const held = await waitFor('router Idle with BFD down', async () => ((o) => (o?.status?.bgpStatus === 'Idle' ? o : undefined))((await list()).get('router')), { timeoutMs: 10_000, intervalMs: 100 });
  t.match(held.status, { bfdStatus: 'down', lastError: /BFD session down/ }, 'router: Idle, BFD down, and why');
  t.notOk(held.status?.establishedSince, 'no establishedSince while held');
  await c.lab.linkUp(node.index);
  await waitFor('router Established again', async () => (await list()).get('router')?.status?.bgpStatus === 'Established', { timeoutMs: 60_000, intervalMs: 200 });
  t.pass('router Established again once the link is back');

  // A graceful stop deletes this node's objects.
  await c.stopSpeaker(0, 'SIGTERM');
  t.equal((await list()).size, 0, 'graceful stop: no BGPSessionState left');
});
