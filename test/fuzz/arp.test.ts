/**
 * ARP/NDP decoder and responder fuzzing (short mode; FUZZ_RUNS / FUZZ_SEED as for BGP). Seeds of
 * test/fixtures/fuzz/arp are checked against their recorded outcome first.
 */
import t from 'tap';
import { checkFrame } from '../fixtures/fuzz/arp-check';
import { arpSeeds, arpTargets } from '../fixtures/fuzz/arp-targets';
import { arpOutcome } from '../fixtures/fuzz/outcomes';
import { runsFor, runTarget, seedFrom } from '../fixtures/fuzz/target';

t.test('seed corpus: every seed decodes to its recorded outcome and passes the oracle', async (t) => {
  const seeds = arpSeeds();
  t.ok(seeds.length >= 25, `corpus glob matched ${seeds.length} seeds`);
  for (const seed of seeds) {
    t.equal(arpOutcome(seed.bytes), seed.meta['expect'], seed.name);
    for (let bits = 0; bits < 512; bits += 7) for (const pktType of [0, 4]) checkFrame(seed.bytes, { bits, pktType });
  }
});

for (const target of arpTargets()) {
  t.test(target.name, async (t) => {
    const r = await runTarget(target, runsFor(target), seedFrom());
    t.equal(r.failures, 0, r.report ?? `${r.runs} runs`);
    if (r.failures === 0) t.equal(r.runs, runsFor(target), 'every run executed');
  });
}
