/**
 * Fuzzing long mode: `npx tsx bench/fuzz.ts --runs 100000 [--target bgp/] [--seed N]`.
 * Runs every fuzz target of test/fixtures/fuzz (the same properties as test/fuzz/*.test.ts) for
 * `--runs` executions each (default 10,000, or FUZZ_RUNS), prints one JSON line per target
 * `{"target","runs","failures","execsPerSec"}` and a summary JSON object as the last line.
 * Counterexamples go to stderr with the seed that replays them (FUZZ_SEED=<seed> in the tap suites).
 * Exits 1 when any target failed.
 */
import { Command } from 'commander';
import { arpTargets } from '../test/fixtures/fuzz/arp-targets';
import { bgpTargets } from '../test/fixtures/fuzz/bgp-targets';
import { configTargets } from '../test/fixtures/fuzz/config-targets';
import { runTarget, type FuzzResult } from '../test/fixtures/fuzz/target';

const positiveInt = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};

async function main(): Promise<number> {
  const opts = new Command()
    .option('--runs <n>', 'executions per target', positiveInt('--runs'), Number(process.env['FUZZ_RUNS'] ?? 10_000))
    .option('--target <substring>', 'only targets whose name contains this', '')
    .option('--seed <n>', 'fast-check seed (each target gets seed + its index)', (v) => Number.parseInt(v, 10))
    .parse(process.argv)
    .opts<{ runs: number; target: string; seed?: number }>();
  const targets = [...bgpTargets(), ...arpTargets(), ...configTargets()].filter((t) => t.name.includes(opts.target));
  if (targets.length === 0) throw new Error(`no fuzz target matches ${JSON.stringify(opts.target)}`);
  const baseSeed = opts.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const started = Date.now();
  const heapBefore = process.memoryUsage().heapUsed;
  let peakRss = process.memoryUsage().rss;
  const results: FuzzResult[] = [];
  for (const [i, target] of targets.entries()) {
    const r = await runTarget(target, opts.runs, baseSeed + i);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    results.push(r);
    process.stdout.write(`${JSON.stringify({ target: r.target, runs: r.runs, failures: r.failures, execsPerSec: r.execsPerSec })}\n`);
    if (r.report) process.stderr.write(`${r.target} failed (seed ${baseSeed + i}):\n${r.report}\n`);
  }
  const failures = results.reduce((n, r) => n + r.failures, 0);
  const summary = {
    bench: 'fuzz',
    targets: results.length,
    runsPerTarget: opts.runs,
    runs: results.reduce((n, r) => n + r.runs, 0),
    failures,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    seed: baseSeed,
    heapGrowthMb: Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e5) / 10,
    peakRssMb: Math.round(peakRss / 1e5) / 10,
    node: process.version,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
