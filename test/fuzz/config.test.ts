/**
 * Config parser and `metallb-ts validate` fuzzing (short mode; FUZZ_RUNS / FUZZ_SEED as for BGP).
 * Seeds of test/fixtures/fuzz/config are checked against their recorded outcome first.
 */
import t from 'tap';
import { checkManifests, configSeeds, configTargets } from '../fixtures/fuzz/config-targets';
import { configOutcome } from '../fixtures/fuzz/outcomes';
import { runsFor, runTarget, seedFrom } from '../fixtures/fuzz/target';

t.test('seed corpus: every seed parses to its recorded outcome', async (t) => {
  const seeds = configSeeds();
  t.ok(seeds.length >= 20, `corpus glob matched ${seeds.length} seeds`);
  for (const seed of seeds) {
    t.equal(configOutcome(seed.docs), seed.expect, `${seed.name}: ${seed.description}`);
    checkManifests(seed.docs, 'metallb-system');
  }
});

for (const target of configTargets()) {
  t.test(target.name, async (t) => {
    const r = await runTarget(target, runsFor(target), seedFrom());
    t.equal(r.failures, 0, r.report ?? `${r.runs} runs`);
    if (r.failures === 0) t.equal(r.runs, runsFor(target), 'every run executed');
  });
}
