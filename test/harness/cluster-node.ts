/**
 * One node of a lab cluster (docs/lab-cluster.md): a lab network namespace running its own
 * containerd (own root, state and socket), a kubelet registered to the test apiserver and
 * kube-proxy in iptables mode. The daemons start with `nsenter --net` (not `ip netns exec`, which
 * mounts a fresh /sys and hides the cgroup mounts the kubelet reads). `stop()` kills them, every
 * container, and unmounts what the kubelet and containerd mounted under the node's directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killQuietly, onProcessExit } from './cleanup';
import type { ClusterControl } from './cluster-control';
import { startContainerd, type Containerd } from './image/containerd';
import type { Lab, LabNode } from './lab';
import { execCommand, stopPids } from './lab-exec';
import { clusterBinary } from './tools';

/** The cluster's pod network: node i (0-based) gets 10.244.(i+1).0/24. */
export const CLUSTER_POD_CIDR = '10.244.0.0/16';
/** The test apiserver's IPv4 service range (see ./apiserver.ts). */
export const SERVICE_CIDR = '10.96.0.0/16';

/** A running node. */
export interface ClusterNode {
  readonly name: string;
  readonly lab: LabNode;
  readonly podSubnet: string;
  readonly containerd: Containerd;
  readonly dir: string;
  /** Stop everything; resolves with what could not be undone (empty when all went). */
  stop(): Promise<string[]>;
  /** Milliseconds each phase of `stop()` took (daemons, containerd, unmounts, files). */
  readonly stopMs: Record<string, number>;
}

/** The pod subnet of node `index` (0-based). Pure. */
export function podSubnet(index: number): string {
  return `10.244.${index + 1}.0/24`;
}

/** The CNI configuration: a bridge per node, host-local addresses from its pod subnet. Pure. */
export function cniConflist(subnet: string, ipamDir: string): Record<string, unknown> {
  return {
    cniVersion: '0.4.0',
    name: 'lab',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
      },
      { type: 'loopback' },
    ],
  };
}

/**
 * The kubelet settings that work on the lab machines (docs/lab-cluster.md): cgroup v1 with
 * cgroupfs, no per-QoS cgroups (a second kubelet on the same host would otherwise remove this
 * one's pod cgroups as orphans), no swap or eviction checks, anonymous AlwaysAllow on its own port.
 * Pure.
 */
export function kubeletConfig(dir: string, socket: string, nodeIp: string): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    containerRuntimeEndpoint: `unix://${socket}`,
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    staticPodPath: join(dir, 'static'),
    address: nodeIp,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    failSwapOn: false,
    enforceNodeAllocatable: [],
    cgroupsPerQOS: false,
    resolvConf: '',
    imageGCHighThresholdPercent: 100,
    evictionHard: {},
    protectKernelDefaults: false,
    podLogsDir: join(dir, 'pod-logs'),
    // The lab answers in seconds; the defaults (10 s node status, 40 s grace) slow every wait.
    nodeStatusUpdateFrequency: '2s',
    syncFrequency: '5s',
  });
}

/** kube-proxy in iptables mode, setting no conntrack sysctls (machine-wide on this kernel). Pure. */
export function kubeProxyConfig(kubeconfig: string, nodeName: string, nodeIp: string): string {
  return JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig },
    hostnameOverride: nodeName,
    bindAddress: nodeIp,
    metricsBindAddress: '127.0.0.1:10249',
    healthzBindAddress: '127.0.0.1:10256',
    clusterCIDR: CLUSTER_POD_CIDR,
    conntrack: { maxPerCore: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}

/** Mount points at or under `dir`, the latest (deepest) first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .reverse();
}

/** Start node `node` of `lab`: containerd with `images` (OCI archives) imported, kubelet, kube-proxy. */
export async function startClusterNode(lab: Lab, node: LabNode, control: ClusterControl, sandboxImage: string, images: readonly string[]): Promise<ClusterNode> {
  const dir = lab.subdir(`cluster-${node.name}`);
  const subnet = podSubnet(node.index);
  const procs: ChildProcess[] = [];
  const unregister = onProcessExit(() => procs.forEach((p) => killQuietly(p.pid)));
  // Pods reach other nodes and the apiserver relay through the router; the router returns pod
  // traffic to the node that owns the subnet.
  await lab.run(node, ['ip', 'route', 'replace', 'default', 'via', lab.router.ipv4]);
  await lab.run(lab.router, ['ip', 'route', 'replace', subnet, 'via', node.ipv4]);

  const containerd = await startContainerd(sandboxImage, { netns: node.ns });
  const daemon = async (name: 'kubelet' | 'kube-proxy', args: string[]): Promise<void> => {
    const log = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn('nsenter', [`--net=/run/netns/${node.ns}`, await clusterBinary(name), ...args], { stdio: ['ignore', log, log] });
    closeSync(log);
    procs.push(child);
    if (child.pid !== undefined) lab.trackPid(child.pid);
  };
  /** Tears down in order and reports what it could not undo instead of stopping half way. */
  const stopMs: Record<string, number> = {};
  let phaseStart = Date.now();
  const phase = (name: string): void => {
    stopMs[name] = Date.now() - phaseStart;
    phaseStart = Date.now();
  };
  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    phaseStart = Date.now();
    await stopPids(procs.map((p) => p.pid).filter((p): p is number => p !== undefined));
    phase('daemons');
    try {
      await containerd.stop();
    } catch (err) {
      problems.push(`${node.name} containerd: ${(err as Error).message}`);
    }
    phase('containerd');
    // The kubelet bind-mounts its root directory onto itself and mounts each pod's secret and
    // token volumes below it; a containerd stopped the hard way leaves its sandboxes' shm mounts.
    for (const m of [...mountsUnder(dir), ...mountsUnder(containerd.dir)]) {
      const r = await execCommand(['umount', '-l', m]);
      if (r.code !== 0) problems.push(`${node.name}: umount ${m}: ${r.stderr.trim()}`);
    }
    phase('umount');
    rmSync(containerd.dir, { recursive: true, force: true });
    phase('files');
    unregister();
    return problems;
  };
  try {
    mkdirSync(join(containerd.dir, 'cni'), { recursive: true });
    writeFileSync(join(containerd.dir, 'cni', '10-lab.conflist'), JSON.stringify(cniConflist(subnet, join(dir, 'ipam'))));
    for (const archive of images) {
      const r = await containerd.ctr(['images', 'import', archive]);
      if (r.code !== 0) throw new Error(`${node.name}: import ${archive}: ${r.stderr}`);
    }
    mkdirSync(join(dir, 'static'), { recursive: true });
    writeFileSync(join(dir, 'kubelet.json'), kubeletConfig(dir, containerd.socket, node.ipv4));
    writeFileSync(join(dir, 'kube-proxy.json'), kubeProxyConfig(control.nodeKubeconfig, node.name, node.ipv4));
    await daemon('kubelet', [
      `--config=${join(dir, 'kubelet.json')}`,
      `--kubeconfig=${control.nodeKubeconfig}`,
      `--root-dir=${join(dir, 'kubelet')}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--hostname-override=${node.name}`,
      `--node-ip=${node.ipv4}`,
      '--v=1',
    ]);
    await daemon('kube-proxy', [`--config=${join(dir, 'kube-proxy.json')}`, '--v=1']);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: node.name, lab: node, podSubnet: subnet, containerd, dir, stop, stopMs };
}
