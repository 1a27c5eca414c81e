/**
 * The user's path on a two-node lab cluster (docs/lab-cluster.md), timed: from `helm install` of
 * the chart (upstream 0.16.1 values, images imported, pullPolicy Never) through the pool, the
 * L2Advertisement and a backend Deployment behind a LoadBalancer Service to the lab client's first
 * HTTP answer through the VIP. Cold: the first install on fresh nodes (containerd unpacks the
 * images, every container starts for the first time). Warm: the same steps after `helm uninstall`
 * and deleting the backend, on the same nodes (images unpacked, kubelets running). Then the
 * announcing node's speaker pod is deleted through the API, CLUSTER_E2E_RUNS times (default 3),
 * each time waiting for the DaemonSet to be whole again: podDeleteGapMs is the worst time the
 * client (one curl after another) went without an answer, podDeleteMoveMs the worst time until the
 * ServiceL2Status named the other node.
 * Last stdout line: {"installToFirstAnswerMs","installToFirstAnswerWarmMs","podDeleteGapMs",...}.
 */
import { startLabCluster, type LabCluster } from '../test/harness/lab-cluster';
import { waitFor } from '../test/harness/lab-exec';
import {
  applyObjects, backend, deleteHolderSpeakerPod, helmInstall, kubectlOk, metallbConfig, RELEASE_NS, waitForAnswer, waitForVip, WEB,
} from '../test/fixtures/cluster/user-path';
import { percentile } from '../test/fixtures/e2e/kit';
import { runLabBench, type BenchResult } from './lab-bench';

const RUNS = Number(process.env.CLUSTER_E2E_RUNS ?? 3);
const NODES = 2;

/** `helm install`, the configuration and the backend, until the client's first answer: milliseconds and the VIP. */
async function installToFirstAnswer(c: LabCluster): Promise<{ ms: number; vip: string }> {
  const t0 = Date.now();
  const install = await helmInstall(c);
  if (install.code !== 0) throw new Error(`helm install: ${install.stderr}`);
  await applyObjects(c, [...metallbConfig({ bgp: false }), ...backend()]);
  const vip = await waitForVip(c);
  await waitForAnswer(c, vip);
  return { ms: Date.now() - t0, vip };
}

/** Take the release and the backend away and wait until no pod is left. */
async function uninstall(c: LabCluster): Promise<void> {
  const r = await c.cp.helm(['uninstall', 'metallb', '-n', RELEASE_NS, '--wait']);
  if (r.code !== 0) throw new Error(`helm uninstall: ${r.stderr}`);
  await kubectlOk(c, ['delete', 'deployment,service', WEB, '--wait=true']);
  await waitFor('every pod gone', async () => (await kubectlOk(c, ['get', 'pods', '--all-namespaces', '-o', 'name'])).trim() === '', { timeoutMs: 120_000, intervalMs: 250 });
}

async function main(td: { teardown(fn: () => unknown): void }): Promise<BenchResult> {
  const t0 = Date.now();
  const c = await startLabCluster(NODES);
  td.teardown(async () => {
    const left = await c.stop();
    if (left.length > 0) console.error(`teardown left: ${left.join('; ')}`);
  });
  const clusterUpMs = Date.now() - t0;
  console.log(`cluster of ${NODES} nodes up in ${clusterUpMs} ms (images ${c.imagesMs} ms)`);

  const cold = await installToFirstAnswer(c);
  console.log(`cold: helm install to first answer from ${cold.vip} in ${cold.ms} ms`);

  const gaps: number[] = [];
  const moves: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const fo = await deleteHolderSpeakerPod(c, cold.vip);
    if (fo.l2Nodes.join() !== fo.successor.name) throw new Error(`run ${i + 1}: the VIP did not move off ${fo.holder} (ServiceL2Status on ${fo.l2Nodes.join(', ') || 'none'})`);
    gaps.push(fo.gapMs);
    moves.push(fo.movedMs);
    console.log(`pod delete ${i + 1}/${RUNS}: ${fo.holder} -> ${fo.successor.name}, status moved in ${fo.movedMs} ms, longest gap ${fo.gapMs} ms over ${fo.requests} requests`);
    const whole = await c.cp.kubectl(['rollout', 'status', 'daemonset/metallb-speaker', '-n', RELEASE_NS, '--timeout=180s']);
    if (whole.code !== 0) throw new Error(`speaker DaemonSet after run ${i + 1}: ${whole.stderr}`);
  }

  await uninstall(c);
  const warm = await installToFirstAnswer(c);
  console.log(`warm: helm install to first answer from ${warm.vip} in ${warm.ms} ms`);

  gaps.sort((a, b) => a - b);
  moves.sort((a, b) => a - b);
  return {
    nodes: NODES,
    clusterUpMs,
    imagesMs: c.imagesMs,
    installToFirstAnswerMs: cold.ms,
    installToFirstAnswerWarmMs: warm.ms,
    podDeleteRuns: gaps.length,
    podDeleteGapMs: percentile(gaps, 100),
    podDeleteGapP50Ms: percentile(gaps, 50),
    podDeleteMoveMs: percentile(moves, 100),
  };
}

runLabBench(main);
