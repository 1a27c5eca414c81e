/**
 * The frame of a lab benchmark: the teardowns a run registers happen however it ends, its result
 * is the last stdout line as one JSON object (what scripts/bench.js reads), and the process exits
 * 0, or 1 with the error on stderr (open lab handles would otherwise keep it alive).
 */
import { benchTeardown, type Teardown } from '../test/fixtures/e2e/kit';

/** A benchmark's figures, printed as the last stdout line. */
export type BenchResult = Record<string, number | string | boolean>;

/** Runs `bench` with a teardown list, prints its result, and exits. */
export function runLabBench(bench: (td: Teardown) => Promise<BenchResult>): void {
  const td = benchTeardown();
  void bench(td)
    .finally(() => td.run())
    .then(
      (result) => {
        console.log(JSON.stringify(result));
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
}
