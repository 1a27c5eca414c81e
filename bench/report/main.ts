/**
 * The benchmark report (docs/benchmarks.md): run every bench/<name>.ts with sizes that fit this
 * 2-core machine (with sweeps where a figure is wanted against a size), run the instrumented
 * failover timeline, and write docs/benchmarks.md plus SVG charts and the raw results under
 * docs/benchmarks/. Each bench prints one JSON object as its last stdout line; a bench that
 * fails is reported as failed with its output tail, never silently left out.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/harness/tools';
import { runFailoverTimeline, type FailoverTimeline } from './failover-timeline';
import { lineChart, timelineChart } from './svg';
import { renderMarkdown } from './markdown';

/** One planned bench run. */
export interface PlannedRun {
  readonly name: string;
  /** Label in the report when a bench runs more than once (a sweep point). */
  readonly label: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /**
   * Run the tsc output (dist/bench/<name>.js) with plain node, as the image runs the product,
   * instead of the TypeScript source through tsx. For the in-process CPU benches: with the tsx
   * loader merely present, the same compiled allocator measured 15-30 % slower (2,100-2,950 vs
   * 1,700-1,900 ns per allocation, 2026-12-04), a cost of the dev tool that no deployment pays.
   */
  readonly compiled?: boolean;
}

/** What one run produced. */
export interface RunResult extends PlannedRun {
  readonly exitCode: number | null;
  readonly seconds: number;
  readonly json?: Record<string, unknown>;
  readonly tail: string;
  /** When and at which commit it ran (a merged report keeps older rows; see mergeResults). */
  readonly ranAt?: string;
  readonly ranAtCommit?: string;
}

/** The machine the figures come from. */
export interface MachineInfo {
  readonly date: string;
  readonly commit: string;
  readonly cpuModel: string;
  readonly nproc: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly loadAvgAtStart: readonly number[];
}

const MIN = 60_000;

/** Sizes for a 2-core machine; `quick` shrinks everything for a smoke run of the report itself. */
export function plan(quick: boolean, controllerSizes: readonly number[]): PlannedRun[] {
  const run = (name: string, o: Partial<Omit<PlannedRun, 'name'>> = {}): PlannedRun => ({
    name,
    label: o.label ?? name,
    args: o.args ?? [],
    env: o.env ?? {},
    timeoutMs: o.timeoutMs ?? 15 * MIN,
    ...(o.compiled ? { compiled: true } : {}),
  });
  return [
    run('bgp-codec', { compiled: true }),
    run('allocator', { compiled: true }),
    run('fuzz', { args: ['--runs', quick ? '200' : '2000'] }),
    run('lab-setup', { args: [quick ? '1' : '3'] }),
    run('bgp-latency', { env: quick ? { BGP_LATENCY_FRR: '0' } : {} }),
    run('bgp-convergence'),
    run('l2-responder'),
    // BGP floods against one speaker process while it answers ARP for an L2 VIP (docs/architecture.md §6.1).
    run('hostile-peer', { timeoutMs: 5 * MIN }),
    // 20 link cuts against FRR bfdd, then an idle run counting false Downs (docs/bfd.md).
    run('bfd-detect', { env: quick ? { BFD_DETECT_RUNS: '3', BFD_IDLE_SEC: '10' } : { BFD_DETECT_RUNS: '20', BFD_IDLE_SEC: '600' }, timeoutMs: 20 * MIN }),
    // 20 hard kills and 20 graceful handovers at the chart's defaults (docs/speaker.md).
    run('l2-failover', { env: { L2_FAILOVER_RUNS: quick ? '1' : '20' }, timeoutMs: 20 * MIN }),
    // The holder SIGSTOPped for less than the detection time, CPU hogs on every core: false takeovers.
    run('l2-starvation', { env: { L2_STARVATION_SECONDS: quick ? '30' : '600' }, timeoutMs: 15 * MIN }),
    // A node holding 3,000 L2 VIPs hard-killed: kill to the last VIP answering ARP from its new owner.
    run('l2-mass-takeover', { env: { MASS_TAKEOVER_VIPS: quick ? '300' : '3000' }, timeoutMs: 25 * MIN }),
    // The user's path on a two-node lab cluster: cold/warm helm install to first answer, speaker pod deletion.
    run('cluster-e2e', { env: { CLUSTER_E2E_RUNS: quick ? '1' : '3' }, timeoutMs: 20 * MIN }),
    run('bgp-e2e-latency', { env: { BGP_E2E_SERVICES: quick ? '10' : '50' } }),
    run('api-load', { env: { API_LOAD_SIZES: quick ? '10,50' : '10,100,1000', API_LOAD_WINDOW_S: quick ? '15' : '30' }, timeoutMs: 30 * MIN }),
    // 20 speaker processes, 10,000 L2+BGP VIPs, 2 FRR routers (a full run is tens of minutes here).
    run('speaker-scale', { args: quick ? ['--nodes=3', '--vips=100', '--window-s=15'] : ['--nodes=20', '--vips=10000', '--window-s=60'], timeoutMs: (quick ? 10 : 90) * MIN }),
    ...controllerSizes.map((n) => run('controller-scale', { label: `controller-scale (${n} Services)`, args: [`--services=${n}`], timeoutMs: 20 * MIN })),
    run('config-scale', { args: [quick ? '--sizes=200,1000' : '--sizes=1000,10000'], timeoutMs: 30 * MIN }),
  ];
}

/** Every bench/<name>.ts (files starting with `_` are scratch files, not benchmarks). */
export function discoverBenches(): string[] {
  return readdirSync(join(repoRoot, 'bench'))
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** Run one bench; never throws. */
export function runBench(p: PlannedRun, log: (l: string) => void): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const entry = p.compiled ? [join(repoRoot, 'dist', 'bench', `${p.name}.js`)] : ['--import', 'tsx', join(repoRoot, 'bench', `${p.name}.ts`)];
    const child = spawn(process.execPath, [...entry, ...p.args], { cwd: repoRoot, env: { ...process.env, ...p.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      log(`${p.label}: timed out after ${p.timeoutMs / 1000} s; killing`);
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
    }, p.timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      let json: Record<string, unknown> | undefined;
      try {
        const v = JSON.parse(last) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) json = v as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      const seconds = Math.round((Date.now() - t0) / 100) / 10;
      log(`${p.label}: exit ${code} in ${seconds} s${json ? '' : ' (no JSON)'}`);
      resolve({ ...p, exitCode: code, seconds, ...(json ? { json } : {}), tail: `${out.slice(-1500)}\n--- stderr ---\n${err.slice(-1500)}` });
    });
  });
}

/** Facts about this machine, taken before the first bench starts. */
export function machineInfo(): MachineInfo {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  return {
    date: new Date().toISOString(),
    commit,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    nproc: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.map((x) => Number(x)) : []);

/** Build the SVG charts from the results; returns file name -> SVG text. */
export function charts(results: readonly RunResult[], timeline: FailoverTimeline | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (timeline) {
    out['failover-timeline.svg'] = timelineChart({
      title: `Client connects to an L2 VIP every 20 ms: hard kill, then graceful handover`,
      attempts: timeline.attempts,
      markers: timeline.markers,
    });
  }
  const api = results.find((r) => r.name === 'api-load')?.json;
  const vips = nums(api?.['vips']);
  out['api-load.svg'] = lineChart({
    title: 'apiserver requests per second from three speakers vs L2 VIPs',
    xLabel: 'VIPs (one Service each)',
    yLabel: 'requests / s',
    logX: true,
    series: [
      { name: 'writes', points: vips.map((x, i) => [x, nums(api?.['writesPerSec'])[i] ?? 0] as const) },
      { name: 'reads (GET/LIST)', points: vips.map((x, i) => [x, nums(api?.['readsPerSec'])[i] ?? 0] as const) },
      { name: 'write target', points: vips.map((x, i) => [x, nums(api?.['writeTargetPerSec'])[i] ?? 0] as const) },
    ],
  });
  const conv = results.filter((r) => r.name === 'bgp-convergence' && r.json);
  out['bgp-convergence.svg'] = lineChart({
    title: 'BGP convergence (Established -> FRR holds every prefix) vs prefixes',
    xLabel: 'prefixes (IPv4 /32 + IPv6 /128)',
    yLabel: 'seconds',
    series: [{ name: 'speaker -> FRR', points: conv.flatMap((r) => (num(r.json?.['prefixes']) !== undefined ? [[num(r.json?.['prefixes'])!, num(r.json?.['seconds']) ?? 0] as const] : [])) }],
  });
  const ctl = results.filter((r) => r.name === 'controller-scale' && r.json);
  const ctlPoints = (key: string): Array<readonly [number, number]> => ctl.flatMap((r) => (num(r.json?.['services']) !== undefined && num(r.json?.[key]) !== undefined ? [[num(r.json?.['services'])!, num(r.json?.[key])!] as const] : []));
  out['controller-throughput.svg'] = lineChart({
    title: 'Controller throughput vs number of Services (real apiserver)',
    xLabel: 'Services',
    yLabel: 'Services assigned / s',
    series: [
      { name: 'from process start', points: ctlPoints('servicesPerSec') },
      { name: 'after ready', points: ctlPoints('servicesPerSecAfterReady') },
    ],
  });
  return out;
}

/** Options of {@link runReport}. */
export interface ReportOptions {
  readonly quick: boolean;
  readonly only?: readonly string[];
  readonly controllerSizes: readonly number[];
  readonly outDir: string;
  readonly log: (line: string) => void;
  /**
   * With `only`: keep the other benches' rows from the last report (docs/benchmarks/results.json)
   * instead of dropping them, so one changed bench can be rerun without the whole hour.
   */
  readonly merge?: boolean;
}

/** The last report's raw results, if any. */
function previousReport(svgDir: string): { results: RunResult[]; timeline: FailoverTimeline | undefined } | undefined {
  const file = join(svgDir, 'results.json');
  if (!existsSync(file)) return undefined;
  const prev = JSON.parse(readFileSync(file, 'utf8')) as { machine?: MachineInfo; results?: Array<Omit<RunResult, 'tail'>>; timeline?: FailoverTimeline | { error?: string } };
  const results = (prev.results ?? []).map((r) => ({ ranAt: prev.machine?.date, ranAtCommit: prev.machine?.commit, ...r, tail: '' }) as RunResult);
  const timeline = prev.timeline && 'attempts' in prev.timeline ? prev.timeline : undefined;
  return { results, timeline };
}

/**
 * This run's rows replace the previous rows of the same label; the others are kept, in the plan's
 * order (labels the plan no longer has are dropped: their bench is gone).
 */
export function mergeResults(previous: readonly RunResult[], fresh: readonly RunResult[], order: readonly string[]): RunResult[] {
  const byLabel = new Map(previous.map((r) => [r.label, r]));
  for (const r of fresh) byLabel.set(r.label, r);
  return order.flatMap((label) => {
    const r = byLabel.get(label);
    return r ? [r] : [];
  });
}

/** Run everything and write the report; resolves with the Markdown path. */
export async function runReport(o: ReportOptions): Promise<{ path: string; results: RunResult[]; failed: number }> {
  const machine = machineInfo();
  o.log(`machine: ${JSON.stringify(machine)}`);
  const planned = plan(o.quick, o.controllerSizes);
  const known = new Set(planned.map((p) => p.name));
  // A bench nobody planned for still runs, with its defaults: "every benchmark" means every one.
  for (const name of discoverBenches()) if (!known.has(name)) planned.push({ name, label: name, args: [], env: {}, timeoutMs: 15 * MIN });
  const selected = planned.filter((p) => !o.only || o.only.includes(p.name) || o.only.includes(p.label));
  const missing = planned.filter((p) => !discoverBenches().includes(p.name)).map((p) => p.name);
  const results: RunResult[] = [];
  // The compiled benches run what tsc makes of the sources now, never a stale dist/.
  if (selected.some((p) => p.compiled)) {
    o.log('building dist/ (tsc) for the compiled benches');
    const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`tsc failed (exit ${built.status}); the compiled benches cannot run`);
  }
  for (const p of selected.filter((p) => !missing.includes(p.name))) results.push({ ...(await runBench(p, o.log)), ranAt: machine.date, ranAtCommit: machine.commit });
  let timeline: FailoverTimeline | undefined;
  let timelineError: string | undefined;
  if (!o.only || o.only.includes('failover-timeline')) {
    try {
      timeline = await runFailoverTimeline();
      o.log(`failover timeline: hard kill ${timeline.hardKillRecoveryMs} ms, graceful ${timeline.gracefulRecoveryMs} ms`);
    } catch (err) {
      timelineError = String(err);
      o.log(`failover timeline failed: ${timelineError}`);
    }
  }
  const svgDir = join(o.outDir, 'benchmarks');
  mkdirSync(svgDir, { recursive: true });
  const previous = o.only && o.merge !== false ? previousReport(svgDir) : undefined;
  if (previous) {
    const fresh = [...results];
    results.splice(0, results.length, ...mergeResults(previous.results, fresh, planned.map((p) => p.label)));
    if (!timeline && !timelineError) timeline = previous.timeline;
  }
  const svgs = charts(results, timeline);
  for (const [f, text] of Object.entries(svgs)) writeFileSync(join(svgDir, f), text);
  writeFileSync(join(svgDir, 'results.json'), `${JSON.stringify({ machine, results: results.map(({ tail: _t, ...r }) => r), timeline: timeline ?? { error: timelineError } }, null, 1)}\n`);
  const path = join(o.outDir, 'benchmarks.md');
  writeFileSync(path, renderMarkdown({ machine, results, timeline, timelineError, svgs: Object.keys(svgs), missing, quick: o.quick, merged: previous !== undefined }));
  return { path, results, failed: results.filter((r) => r.exitCode !== 0 || !r.json).length + (timelineError ? 1 : 0) };
}
