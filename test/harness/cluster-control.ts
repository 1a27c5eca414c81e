/**
 * The control-plane side of a lab cluster (docs/lab-cluster.md): the test apiserver reached from
 * the lab's namespaces, kube-scheduler and kube-controller-manager on the host, and the kernel
 * tunables a kubelet changes machine-wide put back afterwards.
 *
 * The apiserver listens on the host's 127.0.0.1 and the lab never touches the root namespace, so
 * two forwarders join them through a Unix socket (sockets on the file system cross network
 * namespaces): a Node process in the router namespace listens on the router's lab address and the
 * test process relays to the apiserver. Nodes, kubelets and pods (through the `kubernetes`
 * Service, via an EndpointSlice, since the test apiserver runs `--endpoint-reconciler-type=none`)
 * all use that address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { ControlPlane } from './apiserver';
import { killQuietly, onProcessExit } from './cleanup';
import type { Lab } from './lab';
import { stopPids, waitFor } from './lab-exec';
import { clusterBinary } from './tools';

/** The host side of the cluster, shared by every node. */
export interface ClusterControl {
  /** The apiserver as the lab sees it: `https://<router address>:<port>`. */
  readonly apiServer: string;
  readonly apiHost: string;
  readonly apiPort: number;
  /** A cluster-admin kubeconfig whose server is `apiServer`, for kubelets and kube-proxies. */
  readonly nodeKubeconfig: string;
  stop(): Promise<void>;
}

/** The controllers a user's cluster needs for the chart: workloads, endpoints, tokens, taints. */
export const CONTROLLERS = [
  'endpointslice',
  'daemonset',
  'deployment',
  'replicaset',
  'serviceaccount-token',
  'serviceaccount',
  'garbagecollector',
  'namespace',
  'nodelifecycle',
  'root-ca-certificate-publisher-controller',
] as const;

/** The router-namespace half of the relay: TCP on `host:port` to the Unix socket `sock`. */
function relayScript(host: string, port: number, sock: string): string {
  return `const net=require('net');net.createServer((c)=>{const u=net.connect(${JSON.stringify(sock)});c.pipe(u);u.pipe(c);` +
    `c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());}).listen(${port},${JSON.stringify(host)});`;
}

/** The EndpointSlice that sends the `kubernetes` Service to the relay. Pure. */
export function kubernetesEndpointSlice(host: string, port: number): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes-lab', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [host], conditions: { ready: true } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  };
}

/** Start the relay, the EndpointSlice, kube-scheduler and kube-controller-manager. */
export async function startClusterControl(cp: ControlPlane, lab: Lab): Promise<ClusterControl> {
  const apiPort = Number(new URL(cp.server).port);
  const apiHost = lab.router.ipv4;
  const apiServer = `https://${apiHost}:${apiPort}`;
  const sock = join(lab.dir, 'apiserver.sock');
  const relay = net.createServer((c) => {
    const u = net.connect(apiPort, '127.0.0.1');
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  await new Promise<void>((resolve, reject) => relay.once('error', reject).listen(sock, resolve));
  lab.spawn(lab.router, [process.execPath, '-e', relayScript(apiHost, apiPort, sock)], { log: 'api-relay.log' });

  const nodeKubeconfig = join(lab.dir, 'node.kubeconfig');
  writeFileSync(nodeKubeconfig, readFileSync(cp.kubeconfigPath, 'utf8').replace(cp.server, apiServer));

  const procs: ChildProcess[] = [];
  const unregister = onProcessExit(() => procs.forEach((p) => killQuietly(p.pid)));
  const start = async (name: 'kube-scheduler' | 'kube-controller-manager', args: string[]): Promise<void> => {
    const log = openSync(join(lab.dir, `${name}.log`), 'a');
    procs.push(spawn(await clusterBinary(name), args, { stdio: ['ignore', log, log] }));
    closeSync(log);
  };
  const common = [`--kubeconfig=${cp.kubeconfigPath}`, `--authentication-kubeconfig=${cp.kubeconfigPath}`,
    `--authorization-kubeconfig=${cp.kubeconfigPath}`, '--leader-elect=false', '--secure-port=0', '--v=1'];
  const stop = async (): Promise<void> => {
    await stopPids(procs.map((p) => p.pid).filter((p): p is number => p !== undefined));
    unregister();
    relay.close();
  };
  try {
    await start('kube-scheduler', common);
    await start('kube-controller-manager', [
      ...common,
      `--controllers=${CONTROLLERS.join(',')}`,
      `--root-ca-file=${join(cp.dir, 'certs', 'apiserver.crt')}`,
      `--service-account-private-key-file=${join(cp.dir, 'sa.key')}`,
      '--use-service-account-credentials=false',
      '--allocate-node-cidrs=false',
    ]);
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(kubernetesEndpointSlice(apiHost, apiPort)) });
    if (applied.code !== 0) throw new Error(`kubernetes EndpointSlice: ${applied.stderr}`);
    const node = lab.nodes[0];
    if (node) {
      await waitFor('the apiserver through the router relay', async () =>
        (await lab.exec(node, ['curl', '-sk', '--max-time', '2', `${apiServer}/livez`])).stdout.includes('ok'), { timeoutMs: 20_000 });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { apiServer, apiHost, apiPort, nodeKubeconfig, stop };
}

/**
 * The sysctls a kubelet sets machine-wide when `protectKernelDefaults` is false
 * (`setupKernelTunables` in kubernetes `pkg/kubelet/cm/container_manager_linux.go`); none is per
 * network namespace.
 */
export const KUBELET_SYSCTLS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
] as const;

/** Record the kubelet's sysctls now; the returned function writes them back (also at process exit). */
export function guardKernelTunables(): () => void {
  const saved = KUBELET_SYSCTLS.map((k) => ({ path: `/proc/sys/${k}`, value: readFileSync(`/proc/sys/${k}`, 'utf8') }));
  const restore = (): void => {
    for (const { path, value } of saved) {
      try {
        writeFileSync(path, value);
      } catch {
        // best effort; the next restore tries again
      }
    }
  };
  const unregister = onProcessExit(restore);
  return () => {
    restore();
    unregister();
  };
}
