/**
 * The lab cluster's Kubernetes components, built by scripts/build-tools.sh from the Go module proxy
 * at the same k8s.io/kubernetes version as the kube-apiserver the tests already run, and cached by
 * that version: each one starts and reports the pinned version.
 */
import { execFile } from 'node:child_process';
import t from 'tap';
import { CLUSTER_COMPONENTS, clusterBinary, kubeApiserverBinary, toolsDir } from '../harness/tools';

function version(bin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, ['--version'], (err, stdout, stderr) => (err ? reject(new Error(`${bin} --version: ${stderr}`)) : resolve(stdout.trim())));
  });
}

t.test('every cluster component runs and matches the apiserver version', async (t) => {
  const apiserver = await version(await kubeApiserverBinary());
  t.equal(apiserver, 'Kubernetes v1.34.4', 'kube-apiserver');
  t.match(toolsDir(), /k8s-v1\.34\.4-/, 'cached under the pinned version');
  for (const name of CLUSTER_COMPONENTS) {
    const bin = await clusterBinary(name);
    t.ok(bin.startsWith(toolsDir()), `${name} comes from the versioned cache`);
    t.equal(await version(bin), apiserver, `${name} --version`);
  }
});
