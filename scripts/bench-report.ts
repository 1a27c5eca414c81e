/**
 * `npm run bench:report` (node --import tsx scripts/bench-report.ts): run every benchmark and
 * write docs/benchmarks.md with SVG charts (bench/report/). Options: --quick (small sizes, to
 * check the report itself), --only a,b (bench names or labels; `failover-timeline` for the
 * instrumented run; the other rows of the last report are kept unless --no-merge), --controller-sizes 250,1000,2500,5000, --out DIR (default docs).
 * Last stdout line: {"report","benches","failed"}. Exit 1 when any bench failed.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { runReport } from '../bench/report/main';
import { repoRoot } from '../test/harness/tools';

async function main(): Promise<number> {
  const o = new Command()
    .option('--quick', 'small sizes (a smoke run of the report, not for publication)', false)
    .option('--only <names>', 'comma-separated bench names or labels')
    .option('--controller-sizes <list>', "controller-scale sweep (5000 is the controller's target size, docs/controller.md)", '250,1000,2500,5000')
    .option('--out <dir>', 'output directory', join(repoRoot, 'docs'))
    .option('--no-merge', 'with --only: write only the benches run now (by default the other rows of the last report are kept)')
    .parse(process.argv)
    .opts<{ quick: boolean; only?: string; controllerSizes: string; out: string; merge: boolean }>();
  const sizes = o.controllerSizes.split(',').map(Number).filter((n) => n > 0);
  const r = await runReport({
    quick: o.quick,
    ...(o.only ? { only: o.only.split(',') } : {}),
    controllerSizes: o.quick ? sizes.map((n) => Math.max(20, Math.round(n / 10))) : sizes,
    outDir: o.out,
    merge: o.merge,
    log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
  });
  process.stdout.write(`${JSON.stringify({ report: r.path, benches: r.results.length, failed: r.failed })}\n`);
  return r.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench-report failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
