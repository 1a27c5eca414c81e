/**
 * BGP decoder and Framer fuzzing (short mode; FUZZ_RUNS=<n> for more, FUZZ_SEED=<s> to replay).
 * Each seed of test/fixtures/fuzz/bgp is first checked as a regression case against its recorded
 * outcome, then the targets run: random bytes, structure-aware messages, mutated seeds, and the
 * Framer over random chunkings.
 */
import t from 'tap';
import { checkDecode, outcomeOf } from '../fixtures/fuzz/bgp-check';
import { bgpSeeds, bgpTargets, seedCtx } from '../fixtures/fuzz/bgp-targets';
import { runsFor, runTarget, seedFrom } from '../fixtures/fuzz/target';

t.test('seed corpus: every seed decodes to its recorded outcome and passes the oracle', async (t) => {
  const seeds = bgpSeeds();
  t.ok(seeds.length >= 50, `corpus glob matched ${seeds.length} seeds`);
  t.ok(seeds.filter((s) => s.name.startsWith('valid-')).length >= 20, 'captured vectors are in the corpus');
  for (const seed of seeds) {
    const ctx = seedCtx(seed);
    t.equal(outcomeOf(seed.bytes, ctx), seed.meta['expect'], seed.name);
    checkDecode(seed.bytes, ctx);
  }
});

for (const target of bgpTargets()) {
  t.test(target.name, async (t) => {
    const r = await runTarget(target, runsFor(target), seedFrom());
    t.equal(r.failures, 0, r.report ?? `${r.runs} runs`);
    if (r.failures === 0) t.equal(r.runs, runsFor(target), 'every run executed');
  });
}
