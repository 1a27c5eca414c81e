/**
 * The user's path on a real cluster in the lab (docs/lab-cluster.md): nodes as lab namespaces,
 * each with its own containerd, kubelet and kube-proxy; `helm install metallb charts/metallb-ts`
 * with upstream 0.16.1's values plus image overrides (pullPolicy Never: the images are imported,
 * no registry); controller and speaker Ready through their real probes; the speaker's effective
 * capabilities read from inside its container; a pool, an L2Advertisement, and a BGPPeer plus
 * BGPAdvertisement to FRR on the lab router; a backend Deployment behind a LoadBalancer Service
 * gets an EXTERNAL-IP, the lab client's HTTP request to it is answered by the backend (L2), and FRR
 * learns the /32 from every node (BGP). Then the announcing node's speaker pod is deleted through
 * the API: the client must keep getting answers while the VIP moves to the other node (its
 * ServiceL2Status and the MAC answering ARP).
 */
import t from 'tap';
import { startLabCluster } from '../harness/lab-cluster';
import { mountsUnder } from '../harness/cluster-node';
import { startFrr, type FrrPath } from '../harness/routers/frr';
import { LAB } from '../fixtures/manifests/metallb-config';
import {
  applyObjects, backend, deleteHolderSpeakerPod, helmInstall, kubectlOk, metallbConfig, RELEASE_NS, waitForAnswer, waitForVip, WEB,
} from '../fixtures/cluster/user-path';

/** Two nodes: the DaemonSet on more than one, a holder and a successor for the failover. */
const NODES = 2;
/** How long the client may go without an answer while the holder's speaker pod goes away. */
const MAX_GAP_MS = 5_000;
/** CAP_NET_RAW (bit 13) alone: the chart's speaker securityContext. */
const NET_RAW_ONLY = '0000000000002000';

// Cold image builds on a loaded 2-core machine take minutes; the file-wide default is 300 s.
t.setTimeout(600_000);

t.test('helm install on a lab cluster serves HTTP through the VIP', async (t) => {
  const started = Date.now();
  const c = await startLabCluster(NODES);
  t.teardown(() => c.stop());
  t.comment(`cluster up in ${Date.now() - started} ms (images ${c.imagesMs} ms)`);
  const frr = await startFrr(c.lab, {
    asn: LAB.routerAsn,
    routerId: c.lab.router.ipv4,
    neighbors: c.nodes.map((n) => ({ address: n.lab.ipv4, remoteAs: LAB.nodeAsn, families: ['ipv4' as const] })),
  });

  const installStart = Date.now();
  const install = await helmInstall(c);
  t.equal(install.code, 0, `helm install${install.code ? `: ${install.stderr}` : ''}`);

  for (const workload of ['deployment/metallb-controller', 'daemonset/metallb-speaker']) {
    const r = await c.cp.kubectl(['rollout', 'status', workload, '-n', RELEASE_NS, '--timeout=180s']);
    t.equal(r.code, 0, `${workload} Ready through its probes${r.code ? `: ${r.stderr}` : ''}`);
  }

  const podJson = JSON.parse(await kubectlOk(c, ['get', 'pods', '-n', RELEASE_NS, '-l', 'app.kubernetes.io/component=speaker', '-o', 'json'])) as {
    items: { spec: { nodeName: string }; status: { containerStatuses?: { name: string; containerID?: string }[] } }[];
  };
  t.equal(podJson.items.length, c.nodes.length, 'one speaker pod per node');
  for (const pod of podJson.items) {
    const node = c.nodes.find((n) => n.name === pod.spec.nodeName);
    const id = pod.status.containerStatuses?.find((s) => s.name === 'speaker')?.containerID?.replace('containerd://', '');
    if (!node || !id) {
      t.fail(`speaker container on ${pod.spec.nodeName}`);
      continue;
    }
    // From inside the container: its PID 1 is the speaker process.
    const status = await node.containerd.ctr(['tasks', 'exec', '--exec-id', `capcheck-${process.pid}`, id, 'cat', '/proc/1/status']);
    t.equal(status.code, 0, `exec in the speaker container: ${status.stderr}`);
    t.match(status.stdout, new RegExp(`CapEff:\\s+${NET_RAW_ONLY}\\n`), `${node.name}: speaker CapEff is NET_RAW only`);
  }

  await applyObjects(c, [...metallbConfig({ bgp: true }), ...backend()]);
  const vip = await waitForVip(c);
  const table = await kubectlOk(c, ['get', 'svc', WEB]);
  t.match(table, new RegExp(`LoadBalancer\\s+\\S+\\s+${vip.replace(/\./g, '\\.')}\\s`), `kubectl get svc shows EXTERNAL-IP ${vip}`);

  const body = await waitForAnswer(c, vip);
  t.match(body.pod, /^web-/, `answered by the backend pod ${body.pod}`);
  const webNode = (await kubectlOk(c, ['get', 'pods', '-l', `app=${WEB}`, '-o', 'jsonpath={.items[0].spec.nodeName}'])).trim();
  t.equal(body.node, webNode, 'on the node that runs it');
  t.comment(`install to first answer: ${Date.now() - installStart} ms; total ${Date.now() - started} ms`);

  const nextHops = (paths: readonly FrrPath[]): string[] =>
    paths.filter((p) => p.valid === true).flatMap((p) => (p.nexthops ?? []).map((h) => h.ip ?? '')).sort();
  const nodeIps = c.nodes.map((n) => n.lab.ipv4).sort();
  const paths = await frr.waitRoute(`${vip}/32`, (p) => nextHops(p).join() === nodeIps.join(), 60_000).catch(() => undefined);
  t.same(paths ? nextHops(paths) : [], nodeIps, `FRR has ${vip}/32 from every node`);
  await frr.stop();

  // Failover: the announcing node's speaker pod is deleted through the API, as `kubectl delete pod`.
  const fo = await deleteHolderSpeakerPod(c, vip);
  t.same(fo.l2Nodes, [fo.successor.name], `the VIP moved from ${fo.holder} to ${fo.successor.name} (ServiceL2Status)`);
  t.same(fo.arp.macs, [fo.successor.lab.mac.toLowerCase()], `ARP for ${vip} answered by ${fo.successor.name} only: ${fo.arp.output}`);
  t.ok(fo.gapMs <= MAX_GAP_MS, `the client kept getting answers: longest gap ${fo.gapMs} ms over ${fo.requests} requests`);
  t.comment(`failover: ${fo.holder} -> ${fo.successor.name}, ServiceL2Status moved ${fo.movedMs} ms after the delete`);

  const nodeDirs = c.nodes.flatMap((n) => [n.dir, n.containerd.dir]);
  const teardownStart = Date.now();
  t.same(await c.stop(), [], 'teardown undid everything');
  t.comment(`teardown ${Date.now() - teardownStart} ms: ${JSON.stringify(c.teardownMs)}`);
  t.same(nodeDirs.flatMap((d) => mountsUnder(d)), [], 'no kubelet or containerd mount left');
});
