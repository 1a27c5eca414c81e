/**
 * `npm run soak -- --minutes N [--seed S]` (node --import tsx scripts/soak.ts): the soak and
 * chaos run of docs/soak.md (bench/soak/run.ts). Progress and violations go to stderr as they
 * happen; the last stdout line is the JSON summary. Exit code 1 when any invariant was violated.
 */
import { Command } from 'commander';
import { runSoak } from '../bench/soak/run';

async function main(): Promise<number> {
  const opts = new Command()
    .option('--minutes <n>', 'how long faults and edits run (then up to 90 s to settle)', '5')
    .option('--seed <n>', 'PRNG seed: the same seed replays the same workload and fault order', String(Date.now() % 1_000_000))
    .parse(process.argv)
    .opts<{ minutes: string; seed: string }>();
  const minutes = Number(opts.minutes);
  const seed = Number(opts.seed);
  if (!(minutes > 0) || !Number.isInteger(seed)) {
    process.stderr.write('usage: soak --minutes N (N > 0) [--seed INT]\n');
    return 2;
  }
  const summary = await runSoak({ minutes, seed, out: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`) });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.violationCount === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(3);
  },
);
