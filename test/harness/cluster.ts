/**
 * A whole metallb-ts installation for end-to-end tests (docs/architecture.md §8): the real control
 * plane, the chart's CRDs, Node objects for the lab's node namespaces, the controller process, one
 * speaker process per node namespace, a TCP backend per node, and (optionally) an FRR router.
 * Speakers reach the apiserver, which listens on the root namespace's loopback, through a
 * unix-socket bridge (fixtures/e2e/tcp-to-unix.ts), so the lab stays disconnected from the root
 * namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { basename, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './apiserver';
import { onProcessExit } from './cleanup';
import { createLab, waitFor, type Lab } from './lab';
import { entryArgv } from './entry';
import { repoRoot } from './tools';

export const RELEASE_NAMESPACE = 'metallb-system';
/** Port the per-node backends listen on (fixtures/e2e/node-server.ts). */
export const BACKEND_PORT = 8080;

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  readonly nodes: number;
  readonly client?: boolean;
  /** Extra speaker flags (e.g. faster election timings). */
  readonly speakerArgs?: readonly string[];
  readonly controller?: boolean;
  /** Extra controller flags, after the defaults (a repeated flag wins, e.g. `--port 9121`). */
  readonly controllerArgs?: readonly string[];
  /**
   * argv prefix for each speaker, run inside the node namespace (e.g. `setpriv ... --` to drop
   * capabilities); the PID stays the speaker's because such wrappers exec.
   */
  readonly speakerPrefix?: readonly string[];
}

/** A running installation. */
export interface Cluster {
  readonly cp: ControlPlane;
  readonly lab: Lab;
  readonly kc: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly custom: k8s.CustomObjectsApi;
  /** Apply YAML (one or more documents) with kubectl, server-side. */
  apply(yaml: string): Promise<void>;
  /** Start a node's speaker; `extraArgs` follow the cluster's `speakerArgs` (e.g. `--lb-class X` on one node). */
  startSpeaker(nodeIndex: number, extraArgs?: readonly string[]): Promise<ChildProcess>;
  /** Signal a node's speaker and wait until it has exited. */
  stopSpeaker(nodeIndex: number, signal: NodeJS.Signals): Promise<void>;
  speaker(nodeIndex: number): ChildProcess | undefined;
  startController(): Promise<ChildProcess>;
  stopController(signal?: NodeJS.Signals): Promise<void>;
  /** Create an EndpointSlice for a Service with ready endpoints on the given nodes. */
  setEndpoints(namespace: string, service: string, nodeNames: readonly string[]): Promise<void>;
  /** Wait for a Service's first ingress IP. */
  waitForIngress(namespace: string, name: string, timeoutMs?: number): Promise<string[]>;
  /** Connect from a namespace to ip:BACKEND_PORT; resolves with the node name that answered, or undefined. */
  connect(fromNs: string, ip: string, timeoutMs?: number): Promise<string | undefined>;
  /**
   * Partition a node from the API server while it stays on the LAN: kill its apiserver bridge
   * (every open API connection of that node's speaker breaks, new ones are refused).
   */
  stopBridge(nodeIndex: number): Promise<void>;
  /** Restore a node's apiserver bridge; resolves once it accepts connections again. */
  startBridge(nodeIndex: number): Promise<void>;
  /** The apiserver's own `apiserver_request_total` counters (GET /metrics with the admin token). */
  apiRequestTotals(): Promise<ApiRequestCount[]>;
}

/** One `apiserver_request_total` series. */
export interface ApiRequestCount {
  readonly verb: string;
  readonly resource: string;
  readonly subresource: string;
  readonly code: string;
  readonly value: number;
}

/** Parse the `apiserver_request_total` series out of a Prometheus text exposition. */
export function parseApiRequestTotals(text: string): ApiRequestCount[] {
  const out: ApiRequestCount[] = [];
  for (const line of text.split('\n')) {
    const m = /^apiserver_request_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = new Map([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    out.push({ verb: labels.get('verb') ?? '', resource: labels.get('resource') ?? '', subresource: labels.get('subresource') ?? '', code: labels.get('code') ?? '', value: Number(m[2]) });
  }
  return out;
}

async function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((r) => p.once('exit', () => r()));
}

/** Bring up everything; tears down through `t.teardown`. */
export async function startCluster(t: { teardown(fn: () => unknown): void }, opts: ClusterOptions): Promise<Cluster> {
  const cp = await startControlPlane(t);
  const lab = await createLab({ nodes: opts.nodes, client: opts.client ?? true, name: 'e2e' });
  t.teardown(async () => {
    // Keep the process logs of the last run for post-mortems (CI prints where they are).
    const keep = join(repoRoot, '.cache', 'e2e-logs', basename(lab.dir));
    mkdirSync(keep, { recursive: true });
    for (const f of readdirSync(lab.dir).filter((f) => f.endsWith('.log'))) copyFileSync(join(lab.dir, f), join(keep, f));
    await lab.destroy();
  });
  const kc = cp.kubeConfig;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const port = Number(new URL(cp.server).port);

  // Unix socket -> apiserver, served from this (root namespace) process.
  const sockPath = join(lab.dir, 'apiserver.sock');
  const open = new Set<net.Socket>();
  const bridge = net.createServer((inbound) => {
    const out = net.connect(port, '127.0.0.1');
    open.add(inbound).add(out);
    inbound.once('close', () => open.delete(inbound));
    out.once('close', () => open.delete(out));
    inbound.pipe(out).pipe(inbound);
    const close = (): void => {
      inbound.destroy();
      out.destroy();
    };
    inbound.on('error', close);
    out.on('error', close);
  });
  await new Promise<void>((r) => bridge.listen(sockPath, r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        bridge.close(() => r());
        // close() waits for open connections; a half-closed one (its apiserver restarted) never ends.
        for (const s of open) s.destroy();
      }),
  );

  const apply = async (yaml: string): Promise<void> => {
    const r = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: yaml });
    if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
  };
  const crdDir = process.env.MLB_CRD_DIR ?? join(repoRoot, 'charts', 'metallb-ts', 'files', 'crds');
  const crdFiles = readdirSync(crdDir).filter((f) => f.endsWith('.yaml'));
  if (crdFiles.length === 0) throw new Error(`no CRDs in ${crdDir}`);
  await apply(crdFiles.map((f) => readFileSync(join(crdDir, f), 'utf8')).join('\n---\n'));
  const crdWait = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  if (crdWait.code !== 0) throw new Error(`CRDs not established: ${crdWait.stderr}`);
  await core.createNamespace({ body: { metadata: { name: RELEASE_NAMESPACE } } });

  const bridges = new Map<number, ChildProcess>();
  const spawnBridge = (n: (typeof lab.nodes)[number]): void => {
    bridges.set(n.index, lab.spawn(n.ns, entryArgv('test/fixtures/e2e/tcp-to-unix.ts', [String(port), sockPath]), { log: `bridge-${n.name}.log` }));
  };
  const bridgeUp = (n: (typeof lab.nodes)[number]): Promise<boolean> =>
    waitFor(`apiserver bridge in ${n.ns}`, async () => (await lab.exec(n.ns, ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`])).code === 0, { timeoutMs: 30_000 });
  for (const n of lab.nodes) {
    await core.createNode({ body: { metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } } } });
    await core.patchNodeStatus(
      { name: n.name, body: { status: { addresses: [{ type: 'InternalIP', address: n.ipv4 }, { type: 'InternalIP', address: n.ipv6 }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    // The apiserver bridge, the backend, and the VIPs live in the node namespace.
    spawnBridge(n);
    lab.spawn(n.ns, entryArgv('test/fixtures/e2e/node-server.ts', [n.name, String(BACKEND_PORT)]), { log: `backend-${n.name}.log` });
  }
  // Wait until every node namespace reaches the apiserver through its bridge.
  for (const n of lab.nodes) await bridgeUp(n);

  const speakers = new Map<number, ChildProcess>();
  let controller: ChildProcess | undefined;
  const kill = (): void => {
    for (const p of speakers.values()) p.kill('SIGKILL');
    controller?.kill('SIGKILL');
  };
  const unregister = onProcessExit(kill);
  t.teardown(async () => {
    kill();
    unregister();
  });

  const cluster: Cluster = {
    cp,
    lab,
    kc,
    core,
    custom,
    apply,
    async startSpeaker(i, extraArgs = []) {
      const n = lab.nodes[i]!;
      const args = ['speaker', '--node-name', n.name, '--kubeconfig', cp.kubeconfigPath, '--namespace', RELEASE_NAMESPACE, '--port', '0', '--log-level', 'debug', ...(opts.speakerArgs ?? []), ...extraArgs];
      const p = lab.spawn(n.ns, [...(opts.speakerPrefix ?? []), ...entryArgv('src/cli/main.ts', args)], { log: `speaker-${n.name}-${Date.now()}.log` });
      speakers.set(i, p);
      return p;
    },
    async stopSpeaker(i, signal) {
      const p = speakers.get(i);
      if (!p) return;
      p.kill(signal);
      await exited(p);
      speakers.delete(i);
    },
    speaker: (i) => speakers.get(i),
    async startController() {
      const args = ['controller', '--kubeconfig', cp.kubeconfigPath, '--namespace', RELEASE_NAMESPACE, '--port', '0', '--log-level', 'debug', ...(opts.controllerArgs ?? [])];
      // The controller runs in the root namespace: it only talks to the apiserver on loopback.
      const [bin, ...rest] = entryArgv('src/cli/main.ts', args);
      const log = openSync(join(lab.dir, `controller-${Date.now()}.log`), 'a');
      controller = spawn(bin!, rest, { stdio: ['ignore', log, log] });
      closeSync(log);
      return controller;
    },
    async stopController(signal = 'SIGTERM') {
      if (!controller) return;
      controller.kill(signal);
      await exited(controller);
      controller = undefined;
    },
    async setEndpoints(namespace, service, nodeNames) {
      const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
      const name = `${service}-e2e`;
      const body: k8s.V1EndpointSlice = {
        metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
        addressType: 'IPv4',
        endpoints: nodeNames.map((node, i) => ({ addresses: [`10.244.${i}.10`], nodeName: node, conditions: { ready: true, serving: true } })),
        ports: [{ port: BACKEND_PORT, protocol: 'TCP' }],
      };
      try {
        await discovery.replaceNamespacedEndpointSlice({ name, namespace, body });
      } catch {
        await discovery.createNamespacedEndpointSlice({ namespace, body });
      }
    },
    async waitForIngress(namespace, name, timeoutMs = 30_000) {
      return waitFor(
        `ingress IP of ${namespace}/${name}`,
        async () => {
          const svc = await core.readNamespacedService({ name, namespace });
          const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
          return ips.length > 0 ? ips : undefined;
        },
        { timeoutMs },
      );
    },
    async connect(fromNs, ip, timeoutMs = 1000) {
      const r = await lab.exec(fromNs, ['bash', '-c', `timeout ${timeoutMs / 1000} bash -c 'exec 3<>/dev/tcp/${ip}/${BACKEND_PORT}; head -1 <&3'`]);
      return r.code === 0 ? r.stdout.trim() || undefined : undefined;
    },
    async stopBridge(i) {
      const p = bridges.get(i);
      if (!p) return;
      bridges.delete(i);
      p.kill('SIGKILL');
      await exited(p);
    },
    async startBridge(i) {
      const n = lab.nodes[i]!;
      if (!bridges.has(i)) spawnBridge(n);
      await bridgeUp(n);
    },
    async apiRequestTotals() {
      const r = await cp.kubectl(['get', '--raw', '/metrics']);
      if (r.code !== 0) throw new Error(`GET /metrics failed: ${r.stderr}`);
      return parseApiRequestTotals(r.stdout);
    },
  };
  return cluster;
}
