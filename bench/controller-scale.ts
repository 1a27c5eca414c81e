// Controller at scale against the real apiserver (docs/controller.md "Scale"):
// 5,000 LoadBalancer Services are created, then the controller (a child process running the
// compiled JS, as production does, so its RSS is its own) is started and assigns them all;
// then it is restarted. servicesPerSec is the controller's rate: from its process start to the
// last Service showing its IP (Service creation speed is the apiserver's business and reported
// apart as createPerSec). Prints one JSON object as the last line:
// {"services","servicesPerSec","controllerRssMB","restartReadySec","ipChangesAfterRestart", ...}
// plus the apiserver's and etcd's CPU seconds during the assignment phase, because on this
// 2-core machine the apiserver shares the CPU with the controller.
// The controller runs with the chart's default controller.nodeOptions (V8 flags), as a pod does;
// --node-options='<flags>' replaces them ('' for V8's defaults). nodeOptions is in the JSON line.
// Run: npx tsx bench/controller-scale.ts [--services=5000] [--node-options='--max-semi-space-size=4']
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../test/harness/apiserver';
import { freePort } from '../test/harness/free-port';
import { createInformer } from '../src/k8s/informer';
import { silentLogger } from '../src/util/log';
import { REPO, type Svc, applyPool, installCrds, ipOf, lbService, nodeOptionsArg, spawnController, until } from '../test/fixtures/controller/cluster';

const N = Number(/--services=(\d+)/.exec(process.argv.join(' '))?.[1] ?? 5000);
const NODE_OPTIONS = nodeOptionsArg(process.argv);
const CLK_TCK = 100;

/**
 * A pool just large enough for `n` Services: the smallest power-of-two block (a /24 at least)
 * inside 10.64.0.0/10, so --services=20000 gets a /17 and every run allocates from one pool.
 */
function poolCidrFor(n: number): string {
  const hostBits = Math.max(8, Math.ceil(Math.log2(Math.max(n, 2))));
  if (hostBits > 22) throw new Error(`--services=${n}: more than the 4,194,304 addresses of 10.64.0.0/10`);
  return `10.64.0.0/${32 - hostBits}`;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssMB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The pid of the process whose command line contains every needle. */
function findPid(...needles: string[]): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (needles.every((n) => cmd.includes(n))) return Number(d);
    } catch {
      // process went away
    }
  }
  return undefined;
}

/** Compile the project to .cache/bench-dist (inside the repo, so node_modules resolves). */
function compile(): string {
  const out = join(REPO, '.cache', 'bench-dist');
  rmSync(out, { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.json'), '--outDir', out], { stdio: 'ignore' });
  } catch {
    // Type errors elsewhere in the tree still emit JavaScript; the run below fails loudly if ours did not.
  }
  return out;
}

async function main(): Promise<void> {
  const compiledRoot = compile();
  const cp = await startControlPlane();
  const procs: ChildProcess[] = [];
  try {
    const client = await installCrds(cp);
    const apiPort = new URL(cp.server).port;
    const apiPid = findPid('kube-apiserver', `--secure-port=${apiPort}`) ?? findPid('kube-apiserver', cp.dir);
    const etcdPid = findPid('etcd', cp.dir);
    await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'scale' } } });
    await applyPool(client, 'scale', { addresses: [poolCidrFor(N)] });

    const startCtrl = async (): Promise<{ proc: ChildProcess; url: string; spawnedAt: number }> => {
      const port = await freePort();
      const spawnedAt = Date.now();
      const c = spawnController(cp.kubeconfigPath, [`--port=${port}`, '--host=127.0.0.1', '--log-level=warn', '--workers=16'], { compiledRoot, nodeOptions: NODE_OPTIONS });
      procs.push(c.proc);
      return { proc: c.proc, url: `http://127.0.0.1:${port}`, spawnedAt };
    };
    const ready = async (url: string): Promise<boolean> => {
      try {
        return (await fetch(`${url}/readyz`)).status === 200;
      } catch {
        return false;
      }
    };
    const updates = async (url: string): Promise<number> => {
      const m = /^metallb_k8s_client_updates_total (\S+)$/m.exec(await (await fetch(`${url}/metrics`)).text());
      return m ? Number(m[1]) : 0;
    };

    // Phase 1: create N Services (no controller yet), 32 requests in flight. Without
    // allocateLoadBalancerNodePorts: false the apiserver's NodePort range (2,768 ports) is full
    // long before 5,000; MetalLB's L2 and BGP modes need no NodePorts.
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < N) {
          const i = next++;
          await client.request({ method: 'POST', path: '/api/v1/namespaces/scale/services', body: lbService('scale', `s-${i}`, { noNodePorts: true }) });
        }
      }),
    );
    const createdSec = (Date.now() - t0) / 1000;

    // Count assigned Services through a watch: polling full LISTs of 5,000 Services would cost
    // the apiserver and this process more CPU than the controller under test.
    const watched = createInformer<Svc>({ client, path: '/api/v1/namespaces/scale/services', log: silentLogger() });
    await watched.start();
    const assignedCount = (): number => watched.list().filter((x) => ipOf(x) !== undefined).length;

    // Phase 2: start the controller; it lists everything and assigns every Service.
    const cpuApi0 = apiPid ? cpuSeconds(apiPid) : NaN;
    const cpuEtcd0 = etcdPid ? cpuSeconds(etcdPid) : NaN;
    const first = await startCtrl();
    const firstPid = first.proc.pid ?? 0;
    let peakRss = 0;
    await until('controller ready', 120_000, () => ready(first.url));
    const readySec = (Date.now() - first.spawnedAt) / 1000;
    await until(`all ${N} services assigned`, 600_000, () => {
      peakRss = Math.max(peakRss, rssMB(firstPid).rss);
      return assignedCount() === N;
    });
    const assignedSec = (Date.now() - first.spawnedAt) / 1000;
    const cpuApi = apiPid ? cpuSeconds(apiPid) - cpuApi0 : NaN;
    const cpuEtcd = etcdPid ? cpuSeconds(etcdPid) - cpuEtcd0 : NaN;
    const cpuCtrl = cpuSeconds(firstPid);
    await until('controller idle', 120_000, async () => (await updates(first.url)) >= N);
    const mem = rssMB(firstPid);
    peakRss = Math.max(peakRss, mem.rss);
    await watched.stop();
    // Every Service must have its IPAllocated Event (none dropped under load).
    const allocatedEvents = async (): Promise<number> =>
      (await client.list('/api/v1/namespaces/scale/events', { fieldSelector: 'reason=IPAllocated', pageSize: 1000 })).items.length;
    const ipAllocatedEvents = await until(`${N} IPAllocated events`, 120_000, async () => {
      const n = await allocatedEvents();
      return n >= N ? n : undefined;
    }).catch(() => allocatedEvents());
    const before = (await client.list<Svc>('/api/v1/namespaces/scale/services', { pageSize: 1000 })).items;
    const distinct = new Set(before.map(ipOf)).size;

    // Restart: SIGTERM, then a fresh process; ready = informers synced + every assignment adopted.
    first.proc.kill('SIGTERM');
    await until('first controller exited', 30_000, () => first.proc.exitCode !== null);
    const second = await startCtrl();
    await until('restarted controller ready', 120_000, () => ready(second.url));
    const restartReadySec = (Date.now() - second.spawnedAt) / 1000;
    await until('every Service reconciled after restart', 300_000, async () => (await updates(second.url)) >= N);
    const secondMem = rssMB(second.proc.pid ?? 0);
    const after = (await client.list<Svc>('/api/v1/namespaces/scale/services', { pageSize: 1000 })).items;
    const was = new Map(before.map((s) => [s.metadata.name, ipOf(s)]));
    const ipChangesAfterRestart = after.filter((s) => was.get(s.metadata.name) !== ipOf(s)).length;
    const rewrittenAfterRestart = after.filter((s) => before.find((b) => b.metadata.name === s.metadata.name)?.metadata.resourceVersion !== s.metadata.resourceVersion).length;
    second.proc.kill('SIGTERM');
    await until('second controller exited', 30_000, () => second.proc.exitCode !== null);
    client.close();

    const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
    console.log(`created ${N} services in ${createdSec.toFixed(1)} s; controller assigned all ${assignedSec.toFixed(1)} s after its start; distinct IPs ${distinct}`);
    console.log(
      JSON.stringify({
        services: N,
        nodeOptions: NODE_OPTIONS,
        servicesPerSec: round(N / assignedSec),
        // Rate once the controller is ready (module load and the initial LIST excluded).
        servicesPerSecAfterReady: round(N / (assignedSec - readySec)),
        // CPU-seconds per Service of controller + apiserver + etcd, as a rate on 2 dedicated cores.
        cpuBoundServicesPerSec2Cores: round((2 * N) / (cpuCtrl + cpuApi + cpuEtcd)),
        loadAvg1m: round(loadavg()[0] ?? 0),
        controllerRssMB: round(peakRss),
        controllerPeakRssMB: round(Math.max(mem.peak, secondMem.peak)),
        restartReadySec: round(restartReadySec, 2),
        ipChangesAfterRestart,
        rewrittenAfterRestart,
        duplicateIps: N - distinct,
        ipAllocatedEvents,
        createPerSec: round(N / createdSec),
        controllerCpuSec: round(cpuCtrl),
        apiserverCpuSec: round(cpuApi),
        etcdCpuSec: round(cpuEtcd),
      }),
    );
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
