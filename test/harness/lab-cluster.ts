/**
 * A whole lab cluster for the user's-path tests (docs/lab-cluster.md): the lab's namespaces, the
 * test control plane, kube-scheduler and kube-controller-manager, and N nodes each with its own
 * containerd, kubelet and kube-proxy, with the product, pause and backend images imported. `stop()`
 * takes it all down in order and puts back what the kubelet changed machine-wide; it never throws.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './apiserver';
import { guardKernelTunables, startClusterControl, type ClusterControl } from './cluster-control';
import { startClusterNode, type ClusterNode } from './cluster-node';
import { writeOciArchive } from './image/oci-archive';
import { buildBackendImage, buildPauseImage, buildProductImage } from './image/rootfs';
import { createLab, waitFor, type Lab } from './lab';
import { execCommand } from './lab-exec';

/** Image references the chart values and the backend Deployment use. */
export const IMAGES = {
  product: { repository: 'docker.io/library/metallb-ts', tag: 'lab' },
  pause: 'registry.k8s.io/pause:lab',
  backend: 'docker.io/library/lab-backend:lab',
} as const;

/** A running lab cluster. */
export interface LabCluster {
  readonly lab: Lab;
  readonly cp: ControlPlane;
  readonly control: ClusterControl;
  readonly nodes: readonly ClusterNode[];
  /** Milliseconds spent building and writing the images. */
  readonly imagesMs: number;
  /** Tear down; resolves with what could not be undone (empty when all went). Never throws. */
  stop(): Promise<string[]>;
  /** Milliseconds each teardown step took, in order (filled in by `stop()`). */
  readonly teardownMs: Record<string, number>;
}

/** The pod network namespaces containerd's CRI pins under /run/netns (`cni-<uuid>`). */
function cniNetns(): Set<string> {
  return existsSync('/run/netns') ? new Set(readdirSync('/run/netns').filter((n) => n.startsWith('cni-'))) : new Set();
}

/**
 * Delete every workload and pod through the API and wait for the kubelets to stop them, as a
 * node drain would: each kubelet then stops its sandboxes itself (CNI DEL, netns and mounts gone),
 * so stopping containerd afterwards finds no running task. Best effort: whatever is still running
 * when this gives up is killed by the nodes' own teardown.
 */
async function drainPods(cp: ControlPlane, nodes: readonly ClusterNode[]): Promise<void> {
  await cp.kubectl(['delete', 'daemonsets,deployments,replicasets,pods', '--all', '--all-namespaces', '--wait=false', '--grace-period=1']);
  const running = async (n: ClusterNode): Promise<number> =>
    (await n.containerd.ctr(['tasks', 'ls'])).stdout.split('\n').filter((l) => /\sRUNNING\s*$/.test(l)).length;
  await waitFor('pods gone and their tasks stopped', async () => {
    const pods = await cp.kubectl(['get', 'pods', '--all-namespaces', '-o', 'name']);
    if (pods.code !== 0 || pods.stdout.trim() !== '') return false;
    return (await Promise.all(nodes.map(running))).every((count) => count === 0);
  }, { timeoutMs: 60_000, intervalMs: 250 }).catch(() => undefined);
}

function prefixed(prefix: string, record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [`${prefix}${k}`, v]));
}

/** Build the images once, as OCI archives in a scratch directory. */
async function imageArchives(dir: string): Promise<string[]> {
  const [product, pause, backend] = await Promise.all([
    buildProductImage(join(dir, 'product')),
    buildPauseImage(join(dir, 'pause')),
    buildBackendImage(join(dir, 'backend')),
  ]);
  const archives = await Promise.all([
    writeOciArchive(product, `${IMAGES.product.repository}:${IMAGES.product.tag}`, join(dir, 'product.tar')),
    writeOciArchive(pause, IMAGES.pause, join(dir, 'pause.tar')),
    writeOciArchive(backend, IMAGES.backend, join(dir, 'backend.tar')),
  ]);
  // The root filesystems are in the archives now; only the archives are imported.
  for (const d of ['product', 'pause', 'backend']) rmSync(join(dir, d), { recursive: true, force: true });
  return archives;
}

/** Start a cluster of `nodes` nodes plus a lab client namespace. */
export async function startLabCluster(nodes: number): Promise<LabCluster> {
  const cniBefore = cniNetns();
  const restoreSysctls = guardKernelTunables();
  const imagesDir = mkdtempSync(join(tmpdir(), 'mlb-cluster-images-'));
  const started: { lab?: Lab; cp?: ControlPlane; control?: ClusterControl; nodes: ClusterNode[] } = { nodes: [] };
  let stopping: Promise<string[]> | undefined;
  const teardownMs: Record<string, number> = {};
  const stop = (): Promise<string[]> => {
    stopping ??= (async () => {
      const problems: string[] = [];
      const step = async (what: string, f: () => Promise<unknown>): Promise<void> => {
        const t0 = Date.now();
        try {
          const more = await f();
          if (Array.isArray(more)) problems.push(...(more as string[]));
        } catch (err) {
          problems.push(`${what}: ${(err as Error).message}`);
        }
        teardownMs[what] = (teardownMs[what] ?? 0) + Date.now() - t0;
      };
      const { control, cp, lab } = started;
      if (cp && started.nodes.length > 0) await step('drain', () => drainPods(cp, started.nodes));
      await Promise.all(started.nodes.map((n) => step(n.name, () => n.stop())));
      for (const n of started.nodes) {
        for (const [k, v] of Object.entries({ ...n.stopMs, ...prefixed('containerd.', n.containerd.stopMs) })) teardownMs[`${n.name}.${k}`] = v;
      }
      // Sandboxes killed with their containerd leave their pinned network namespaces behind.
      for (const ns of cniNetns()) {
        if (!cniBefore.has(ns)) await step('cni netns', () => execCommand(['ip', 'netns', 'delete', ns], { check: true }));
      }
      if (control) await step('control', () => control.stop());
      if (cp) await step('control plane', () => cp.stop());
      if (lab) await step('lab', () => lab.destroy());
      rmSync(imagesDir, { recursive: true, force: true });
      restoreSysctls();
      return problems;
    })();
    return stopping;
  };
  try {
    const t0 = Date.now();
    const [archives, lab, cp] = await Promise.all([imageArchives(imagesDir), createLab({ nodes, client: true, name: 'cluster' }), startControlPlane()]);
    const imagesMs = Date.now() - t0;
    started.lab = lab;
    started.cp = cp;
    started.control = await startClusterControl(cp, lab);
    const control = started.control;
    // In parallel: importing the images into each node's containerd is most of a node's start.
    const results = await Promise.allSettled(lab.nodes.map((node) => startClusterNode(lab, node, control, IMAGES.pause, archives)));
    for (const r of results) if (r.status === 'fulfilled') started.nodes.push(r.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await waitFor('every node Ready', async () => {
      const r = await cp.kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}']);
      return r.stdout.trim().split(' ').filter((s) => s.endsWith('=True')).length === nodes;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    return { lab, cp, control, nodes: started.nodes, imagesMs, stop, teardownMs };
  } catch (err) {
    await stop();
    throw err;
  }
}
