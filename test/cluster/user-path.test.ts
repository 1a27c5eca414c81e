/**
 * The user's path on a real cluster in the lab (docs/lab-cluster.md): nodes as lab namespaces,
 * each with its own containerd, kubelet and kube-proxy; `helm install metallb charts/metallb-ts`
 * with upstream 0.16.1's values plus image overrides (pullPolicy Never: the images are imported,
 * no registry); controller and speaker Ready through their real probes; the speaker's effective
 * capabilities read from inside its container; a pool, an L2Advertisement, and a BGPPeer plus
 * BGPAdvertisement to FRR on the lab router; a backend Deployment behind a LoadBalancer Service
 * gets an EXTERNAL-IP, the lab client's HTTP request to it is answered by the backend (L2), and FRR
 * learns the /32 from every node (BGP).
 */
import { join } from 'node:path';
import t from 'tap';
import { IMAGES, startLabCluster, type LabCluster } from '../harness/lab-cluster';
import { mountsUnder } from '../harness/cluster-node';
import { waitFor } from '../harness/lab-exec';
import { startFrr, type FrrPath } from '../harness/routers/frr';
import { repoRoot } from '../harness/tools';
import { bgpAdvertisement, bgpPeer, l2Advertisement, LAB, pool } from '../fixtures/manifests/metallb-config';

const NS = 'metallb-system';
const VIP_RANGE = '10.77.0.200-10.77.0.210';
/** CAP_NET_RAW (bit 13) alone: the chart's speaker securityContext. */
const NET_RAW_ONLY = '0000000000002000';

async function ok(c: LabCluster, args: string[], input?: string): Promise<string> {
  const r = await c.cp.kubectl(args, input === undefined ? undefined : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function manifests(): string {
  const objects = [
    pool('lab', [VIP_RANGE]),
    l2Advertisement('lab', { ipAddressPools: ['lab'] }),
    bgpPeer('frr', { connectTime: '1s' }),
    bgpAdvertisement('lab', { ipAddressPools: ['lab'] }),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            automountServiceAccountToken: false,
            containers: [{
              name: 'web',
              image: IMAGES.backend,
              imagePullPolicy: 'Never',
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              ],
              readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
            }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ];
  return objects.map((o) => JSON.stringify(o)).join('\n---\n');
}

t.test('helm install on a lab cluster serves HTTP through the VIP', async (t) => {
  const started = Date.now();
  const c = await startLabCluster(1);
  t.teardown(() => c.stop());
  t.comment(`cluster up in ${Date.now() - started} ms (images ${c.imagesMs} ms)`);
  const frr = await startFrr(c.lab, {
    asn: LAB.routerAsn,
    routerId: c.lab.router.ipv4,
    neighbors: c.nodes.map((n) => ({ address: n.lab.ipv4, remoteAs: LAB.nodeAsn, families: ['ipv4' as const] })),
  });

  const installStart = Date.now();
  const install = await c.cp.helm([
    'install', 'metallb', join(repoRoot, 'charts', 'metallb-ts'), '-n', NS, '--create-namespace',
    '-f', join(repoRoot, 'test', 'chart', 'upstream', 'metallb-0.16.1-values.yaml'),
    '--set', `image.repository=${IMAGES.product.repository}`, '--set', `image.tag=${IMAGES.product.tag}`,
    '--set', 'image.pullPolicy=Never',
  ]);
  t.equal(install.code, 0, `helm install${install.code ? `: ${install.stderr}` : ''}`);

  for (const workload of ['deployment/metallb-controller', 'daemonset/metallb-speaker']) {
    const r = await c.cp.kubectl(['rollout', 'status', workload, '-n', NS, '--timeout=180s']);
    t.equal(r.code, 0, `${workload} Ready through its probes${r.code ? `: ${r.stderr}` : ''}`);
  }

  const podJson = JSON.parse(await ok(c, ['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=speaker', '-o', 'json'])) as {
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

  await waitFor('the metallb CRDs served', async () => (await c.cp.kubectl(['get', 'ipaddresspools', '-n', NS])).code === 0, { timeoutMs: 30_000 });
  await ok(c, ['apply', '-f', '-'], manifests());
  const vip = await waitFor('web EXTERNAL-IP', async () => {
    const r = await c.cp.kubectl(['get', 'svc', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
    return r.stdout.trim() || undefined;
  }, { timeoutMs: 60_000, intervalMs: 250 });
  const table = await ok(c, ['get', 'svc', 'web']);
  t.match(table, new RegExp(`LoadBalancer\\s+\\S+\\s+${vip.replace(/\./g, '\\.')}\\s`), `kubectl get svc shows EXTERNAL-IP ${vip}`);

  const client = c.lab.client;
  if (!client) throw new Error('the lab has no client');
  const answer = await waitFor(`HTTP answer from ${vip}`, async () => {
    const r = await c.lab.exec(client, ['curl', '-s', '--max-time', '2', `http://${vip}/`]);
    return r.code === 0 && r.stdout.includes('"pod"') ? r.stdout : undefined;
  }, { timeoutMs: 120_000, intervalMs: 250 });
  const body = JSON.parse(answer) as { pod: string; node: string };
  t.match(body.pod, /^web-/, `answered by the backend pod ${body.pod}`);
  t.equal(body.node, 'node1', 'on the node that runs it');
  t.comment(`install to first answer: ${Date.now() - installStart} ms; total ${Date.now() - started} ms`);

  const nextHops = (paths: readonly FrrPath[]): string[] =>
    paths.filter((p) => p.valid === true).flatMap((p) => (p.nexthops ?? []).map((h) => h.ip ?? '')).sort();
  const nodeIps = c.nodes.map((n) => n.lab.ipv4).sort();
  const paths = await frr.waitRoute(`${vip}/32`, (p) => nextHops(p).join() === nodeIps.join(), 60_000).catch(() => undefined);
  t.same(paths ? nextHops(paths) : [], nodeIps, `FRR has ${vip}/32 from every node`);
  await frr.stop();

  const nodeDirs = c.nodes.flatMap((n) => [n.dir, n.containerd.dir]);
  const teardownStart = Date.now();
  t.same(await c.stop(), [], 'teardown undid everything');
  t.comment(`teardown ${Date.now() - teardownStart} ms: ${JSON.stringify(c.teardownMs)}`);
  t.same(nodeDirs.flatMap((d) => mountsUnder(d)), [], 'no kubelet or containerd mount left');
});
