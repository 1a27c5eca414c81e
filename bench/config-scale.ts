// Configuration reload at scale against the real apiserver (docs/controller.md "Configuration
// reload"): a running controller (a child process running the compiled JS, as production does, so
// its RSS is its own) watches while N /28 IPAddressPools are created in bulk; then one new
// LoadBalancer Service is created. lastPoolToIpMs is the time from the last pool's creation to
// that Service showing its IP; peakRssMb the controller's VmHWM; parses the controller's
// metallb_config_parses_total; logBytes what it wrote at info level. A speaker (compiled JS too,
// on a Node object of its own, no advertisements so it announces nothing) watches the same apply:
// speakerPeakRssMb and speakerParses. Prints one JSON object as the last line:
// {"pools1000":{"lastPoolToIpMs","peakRssMb",...},"pools10000":{...}}
// --heap-mb=N runs both with --max-old-space-size=N: V8 sizes its heap from the host's memory
// and collects garbage lazily far below that, while in a pod with a memory limit Node sizes the
// heap from the cgroup limit and collects before reaching it.
// The controller runs with the chart's default controller.nodeOptions (V8 flags), as a pod does;
// --node-options='<flags>' replaces them ('' for V8's defaults).
// Run: npx tsx bench/config-scale.ts [--sizes=1000,10000] [--no-speaker] [--heap-mb=256] [--node-options=...]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane } from '../test/harness/apiserver';
import { freePort } from '../test/harness/free-port';
import { REPO, RELEASE_NS, getService, installCrds, ipOf, lbService, nodeOptionsArg, spawnController, until } from '../test/fixtures/controller/cluster';

const SIZES = (/--sizes=([\d,]+)/.exec(process.argv.join(' '))?.[1] ?? '1000,10000').split(',').map(Number);
const WITH_SPEAKER = !process.argv.includes('--no-speaker');
const SPEAKER_NODE = 'bench-node';
const HEAP_MB = /--heap-mb=(\d+)/.exec(process.argv.join(' '))?.[1];
const NODE_OPTIONS = nodeOptionsArg(process.argv);
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Peak and current RSS of a process, from /proc/<pid>/status. */
function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
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

/** The i-th /28 from 10.0.0.0 upwards (65,536 of them fit in 10.0.0.0/12). */
function poolCidr(i: number): string {
  const v = (10 << 24) + i * 16;
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/28`;
}

interface SizeResult {
  lastPoolToIpMs: number;
  peakRssMb: number;
  rssAfterMb: number;
  parses: number | null;
  /** Mean duration of one parse (and what the controller does with it). */
  meanParseMs: number | null;
  applySec: number;
  controllerCpuSec: number;
  logBytes: number;
  speakerPeakRssMb?: number;
  speakerParses?: number | null;
  speakerCpuSec?: number;
}

/** The first sample of an unlabelled metric in exposition text. */
function metric(text: string, name: string): number | null {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  return m === undefined ? null : Number(m);
}

async function runSize(n: number, compiledRoot: string): Promise<SizeResult> {
  const cp = await startControlPlane();
  let proc: ReturnType<typeof spawnController>['proc'] | undefined;
  let speaker: ChildProcess | undefined;
  try {
    const client = await installCrds(cp);
    await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'scale' } } });
    let speakerUrl = '';
    if (WITH_SPEAKER) {
      await client.request({ method: 'POST', path: '/api/v1/nodes', body: { metadata: { name: SPEAKER_NODE } } });
      const sport = await freePort();
      speakerUrl = `http://127.0.0.1:${sport}`;
      const args = ['speaker', `--node-name=${SPEAKER_NODE}`, `--kubeconfig=${cp.kubeconfigPath}`, `--namespace=${RELEASE_NS}`, `--port=${sport}`, '--host=127.0.0.1', '--log-level=warn'];
      speaker = spawn(process.execPath, [join(compiledRoot, 'src', 'cli', 'main.js'), ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
      await until('speaker ready', 120_000, async () => (await fetch(`${speakerUrl}/readyz`).catch(() => undefined))?.status === 200);
    }
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const c = spawnController(cp.kubeconfigPath, [`--port=${port}`, '--host=127.0.0.1', '--log-level=info'], { compiledRoot, nodeOptions: NODE_OPTIONS });
    proc = c.proc;
    const pid = proc.pid ?? 0;
    // Count log bytes without keeping the lines: 10,000 pools used to mean 124 MB of log.
    let logBytes = 0;
    proc.stdout?.on('data', (d: Buffer) => {
      logBytes += d.length;
      c.lines.length = 0;
    });
    await until('controller ready', 120_000, async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200);

    // Apply the pools in bulk, 16 requests in flight (kubectl apply -f of a big file is serial
    // and slower; this is the harder case for the controller).
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) {
          const i = next++;
          await client.request({
            method: 'POST',
            path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/ipaddresspools`,
            body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: `p-${String(i).padStart(5, '0')}` }, spec: { addresses: [poolCidr(i)] } },
          });
        }
      }),
    );
    const lastPoolAt = Date.now();
    await client.request({ method: 'POST', path: '/api/v1/namespaces/scale/services', body: lbService('scale', 'after-pools', { noNodePorts: true }) });
    await until('the new Service gets its IP', 900_000, async () => ipOf(await getService(client, 'scale', 'after-pools')));
    const lastPoolToIpMs = Date.now() - lastPoolAt;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const parses = metric(metrics, 'metallb_config_parses_total');
    const parseSec = metric(metrics, 'metallb_config_parse_duration_seconds_sum');
    const meanParseMs = parses && parseSec !== null ? Math.round((parseSec * 1000) / parses) : null;
    const mem = rssMb(pid);
    const cpu = cpuSeconds(pid);
    let speakerFigures: Pick<SizeResult, 'speakerPeakRssMb' | 'speakerParses' | 'speakerCpuSec'> = {};
    if (speaker?.pid) {
      // The speaker has seen the whole apply once it parsed after the last pool (quietMs later).
      await new Promise((r) => setTimeout(r, 3_000));
      const sm = await (await fetch(`${speakerUrl}/metrics`)).text();
      speakerFigures = { speakerPeakRssMb: Math.round(rssMb(speaker.pid).peak * 10) / 10, speakerParses: metric(sm, 'metallb_config_parses_total'), speakerCpuSec: Math.round(cpuSeconds(speaker.pid) * 10) / 10 };
      speaker.kill('SIGKILL');
    }
    proc.kill('SIGTERM');
    await until('controller exited', 30_000, () => proc?.exitCode !== null);
    client.close();
    const round = (x: number): number => Math.round(x * 10) / 10;
    console.log(`${n} pools applied in ${((lastPoolAt - t0) / 1000).toFixed(1)} s; new Service got its IP ${lastPoolToIpMs} ms after the last pool`);
    return {
      lastPoolToIpMs,
      peakRssMb: round(mem.peak),
      rssAfterMb: round(mem.rss),
      parses,
      meanParseMs,
      applySec: round((lastPoolAt - t0) / 1000),
      controllerCpuSec: round(cpu),
      logBytes,
      ...speakerFigures,
    };
  } finally {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    if (speaker && speaker.exitCode === null) speaker.kill('SIGKILL');
    await cp.stop();
  }
}

async function main(): Promise<void> {
  const compiledRoot = compile();
  // After compiling (tsc needs more): the controller and speaker inherit it.
  if (HEAP_MB) process.env['NODE_OPTIONS'] = `${process.env['NODE_OPTIONS'] ?? ''} --max-old-space-size=${HEAP_MB}`.trim();
  const out: Record<string, SizeResult> = {};
  for (const n of SIZES) out[`pools${n}`] = await runSize(n, compiledRoot);
  console.log(JSON.stringify({ nodeOptions: NODE_OPTIONS, heapMb: HEAP_MB ?? null, ...out }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
