/**
 * Service created -> route in FRR, end to end (docs/architecture.md §8): the real apiserver,
 * controller and three speakers in lab node namespaces, FRR (bgpd + zebra) in the router namespace
 * peering with each. For 100 Services, one at a time: the clock starts just before the Service POST
 * (allocation by the controller included) and stops when the /32 shows up in the router namespace's
 * kernel table (`ip monitor route`: FRR has received, selected and installed it). EndpointSlices
 * are created beforehand, so every Service is announceable as soon as it has an IP. A watch on the
 * Services splits each sample into allocation (POST -> status with the IP seen) and announcement
 * (the rest). Last stdout line: {"p50Ms","p99Ms",...}. Target: p99 <= 300 ms.
 * Note: FRR itself holds routes ~50 ms (bgpd work queue) + ~10 ms (zebra) before installing them
 * (see bench/bgp-latency.ts), included here.
 * Env: BGP_E2E_SERVICES (default 100).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '../test/harness/lab';
import { inNs } from '../test/harness/lab-exec';
import { startCluster, BACKEND_PORT } from '../test/harness/cluster';
import { startFrr } from '../test/harness/routers/frr';
import { percentile, type Teardown } from '../test/fixtures/e2e/kit';
import { runLabBench, type BenchResult } from './lab-bench';
import { labConfig, toYaml } from '../test/fixtures/manifests/metallb-config';

const SERVICES = Number(process.env.BGP_E2E_SERVICES ?? 100);
const NODES = 3;
const NS = 'lat';

const CONFIG = toYaml(labConfig({ pool: 'lat', addresses: ['10.77.9.0/24'], l2: false, bgp: {} }));

async function main(td: Teardown): Promise<BenchResult> {
  const c = await startCluster(td, { nodes: NODES, client: false });
  const frr = await startFrr(c.lab, { asn: 64501, routerId: c.lab.router.ipv4, neighbors: c.lab.nodes.map((n) => ({ address: n.ipv4, remoteAs: 64500, families: ['ipv4' as const] })) });
  await c.apply(CONFIG);
  await c.startController();
  for (let i = 0; i < NODES; i++) await c.startSpeaker(i);
  for (const n of c.lab.nodes) await frr.waitEstablished(n.ipv4, 120_000);
  console.log('all sessions Established');

  const monitor = spawn('ip', inNs(c.lab.router.ns, ['ip', '-4', 'monitor', 'route']).slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  if (monitor.pid !== undefined) c.lab.trackPid(monitor.pid);
  const installed = new Map<string, number>();
  createInterface({ input: monitor.stdout }).on('line', (line) => {
    const m = /^(10\.77\.9\.\d+) .*proto bgp/.exec(line);
    if (m?.[1] !== undefined && !installed.has(m[1])) installed.set(m[1], Date.now());
  });

  await c.core.createNamespace({ body: { metadata: { name: NS } } });
  const discovery = c.kc.makeApiClient(k8s.DiscoveryV1Api);
  const nodes = c.lab.nodes.map((n) => n.name);
  for (let i = 0; i < SERVICES; i++) {
    await discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: {
        metadata: { name: `svc-${i}-e2e`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
        addressType: 'IPv4',
        endpoints: nodes.map((node, j) => ({ addresses: [`10.244.${j}.${(i % 250) + 1}`], nodeName: node, conditions: { ready: true, serving: true } })),
        ports: [{ port: BACKEND_PORT, protocol: 'TCP' }],
      },
    });
  }

  // When each Service's IP first appears in its status (the controller's allocation).
  const allocated = new Map<string, { ip: string; at: number }>();
  const watch = new k8s.Watch(c.kc);
  const req = await watch.watch(
    `/api/v1/namespaces/${NS}/services`,
    {},
    (_type: string, obj: k8s.V1Service) => {
      const ip = obj.status?.loadBalancer?.ingress?.[0]?.ip;
      const name = obj.metadata?.name ?? '';
      if (ip && !allocated.has(name)) allocated.set(name, { ip, at: Date.now() });
    },
    () => undefined,
  );

  const total: number[] = [];
  const alloc: number[] = [];
  const announce: number[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const name = `svc-${i}`;
    const t0 = Date.now();
    await c.core.createNamespacedService({ namespace: NS, body: { metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ port: BACKEND_PORT, protocol: 'TCP' }], selector: { app: name } } } });
    const a = await waitFor(`${name}'s IP in its status`, () => allocated.get(name), { timeoutMs: 30_000, intervalMs: 2 });
    const t1 = await waitFor(`${a.ip}/32 in the router's kernel`, () => installed.get(a.ip), { timeoutMs: 30_000, intervalMs: 2 });
    total.push(t1 - t0);
    alloc.push(a.at - t0);
    announce.push(t1 - a.at);
  }
  req.abort();
  monitor.kill('SIGTERM');
  const sorted = (x: number[]): number[] => [...x].sort((p, q) => p - q);
  const [st, sa, sn] = [sorted(total), sorted(alloc), sorted(announce)];
  console.log(`total ms: ${st.join(' ')}`);
  console.log(`allocation (POST -> IP in status) p50 ${percentile(sa, 50)} ms, p99 ${percentile(sa, 99)} ms`);
  console.log(`announcement (IP in status -> route in kernel) p50 ${percentile(sn, 50)} ms, p99 ${percentile(sn, 99)} ms`);
  return {
    services: SERVICES,
    p50Ms: percentile(st, 50),
    p99Ms: percentile(st, 99),
    allocP50Ms: percentile(sa, 50),
    allocP99Ms: percentile(sa, 99),
    announceP50Ms: percentile(sn, 50),
    announceP99Ms: percentile(sn, 99),
  };
}

runLabBench(main);
