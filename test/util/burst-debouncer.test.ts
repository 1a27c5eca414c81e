// BurstDebouncer on a fake clock: a burst coalesces into one run once it settles; a trickle that
// never settles still runs within maxDelayMs; a slow job spaces the runs by costFactor × its
// duration; a stream with short pauses runs at most once per minIntervalMs; flush/runNow/stop.
import t from 'tap';
import { BurstDebouncer, type DebounceBounds } from '../../src/util/burst-debouncer';
import { FakeClock } from '../harness/fake-clock';

const BOUNDS: DebounceBounds = { quietMs: 100, maxDelayMs: 1_000, minIntervalMs: 0, costFactor: 4 };

/** A debouncer whose job records when it ran and takes `costMs` of fake time. */
function setup(costMs = 0, bounds = BOUNDS): { clock: FakeClock; d: BurstDebouncer; runs: number[] } {
  const clock = new FakeClock(0);
  const runs: number[] = [];
  const d = new BurstDebouncer(clock, bounds, () => {
    runs.push(clock.now());
    // The job's own duration, as a parse would take: time passes while it runs.
    clock.advance(costMs);
  });
  return { clock, d, runs };
}

t.test('a burst coalesces into one run, quietMs after its last trigger', async (t) => {
  const { clock, d, runs } = setup();
  // 800 triggers over 800 ms: under maxDelayMs, and never 100 ms of quiet.
  for (let i = 0; i < 800; i++) {
    d.trigger();
    clock.advance(1);
  }
  t.same(runs, [], 'nothing runs while the burst goes on');
  t.ok(clock.pending <= 1, 'a burst of 800 triggers arms one timer at a time');
  clock.advance(98);
  t.same(runs, [], 'not before quietMs of silence');
  clock.advance(2);
  t.same(runs, [899], 'one run, 100 ms after the last trigger');
  t.equal(d.pending, false);
  clock.advance(10_000);
  t.same(runs, [899], 'nothing more without a trigger');
  t.match(d.stats, { runs: 1, triggers: 800 });
});

t.test('a trickle that never settles runs every maxDelayMs', async (t) => {
  const { clock, d, runs } = setup();
  // One trigger every 50 ms for 5 s: never 100 ms of quiet.
  for (let i = 0; i < 100; i++) {
    d.trigger();
    clock.advance(50);
  }
  t.same(runs, [1_000, 2_000, 3_000, 4_000, 5_000], 'at most maxDelayMs after the first trigger of each burst');
  for (let i = 1; i < runs.length; i++) t.ok(runs[i]! - runs[i - 1]! <= 1_000, `gap ${i} within maxDelayMs`);
});

t.test('a slow job spaces the runs by costFactor × its duration', async (t) => {
  // Each run takes 500 ms: the next may start 2,000 ms after it ended, not 1,000 ms.
  const { clock, d, runs } = setup(500);
  for (let i = 0; i < 200; i++) {
    d.trigger();
    clock.advance(50);
  }
  t.ok(runs.length >= 3, `ran ${runs.length} times in 10 s of trickle`);
  for (let i = 1; i < runs.length; i++) t.ok(runs[i]! - (runs[i - 1]! + 500) >= 2_000, `run ${i} starts at least 4 × 500 ms after the previous ended`);
  const busy = (runs.length * 500) / clock.now();
  t.ok(busy <= 1 / (1 + BOUNDS.costFactor) + 0.05, `the job used ${(busy * 100).toFixed(0)} % of the time`);
  clock.advance(5_000);
  t.equal(d.pending, false, 'the last trigger was acted on');
  t.ok(runs[runs.length - 1]! >= 10_000 - 50, 'a run after the last trigger');
});

t.test('a stream with short pauses runs at most once per minIntervalMs', async (t) => {
  const { clock, d, runs } = setup(0, { ...BOUNDS, minIntervalMs: 1_000 });
  // Five triggers 10 ms apart, then a 150 ms pause (longer than quietMs), for 10 s.
  for (let i = 0; i < 10_000; i += 200) {
    for (let k = 0; k < 5; k++) {
      d.trigger();
      clock.advance(10);
    }
    clock.advance(150);
  }
  clock.advance(2_000);
  t.equal(runs[0], 140, 'the first pause runs the job (nothing ran before)');
  for (let i = 1; i < runs.length; i++) t.ok(runs[i]! - runs[i - 1]! >= 1_000, `run ${i} at least minIntervalMs after the previous`);
  t.ok(runs.length <= 11, `${runs.length} runs in 10 s, not one per pause (50)`);
  t.equal(d.pending, false, 'the last trigger was acted on');
});

t.test('a lone trigger after a long quiet runs after quietMs', async (t) => {
  const { clock, d, runs } = setup(10);
  d.trigger();
  clock.advance(200);
  clock.advance(60_000);
  d.trigger();
  clock.advance(100);
  t.same(runs, [100, 60_300]);
});

t.test('flush runs a pending job at once; runNow runs regardless; stop drops the pending one', async (t) => {
  const { clock, d, runs } = setup();
  d.flush();
  t.same(runs, [], 'flush with nothing pending does nothing');
  d.trigger();
  clock.advance(10);
  d.flush();
  t.same(runs, [10]);
  clock.advance(1_000);
  t.same(runs, [10], 'the flushed burst does not run again');
  d.runNow();
  t.same(runs, [10, 1_010]);
  d.trigger();
  d.stop();
  clock.advance(5_000);
  d.trigger();
  clock.advance(5_000);
  t.same(runs, [10, 1_010], 'nothing runs after stop');
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('a job that throws still counts as a run and leaves the debouncer usable', async (t) => {
  const clock = new FakeClock(0);
  let calls = 0;
  const d = new BurstDebouncer(clock, BOUNDS, () => {
    calls++;
    if (calls === 1) throw new Error('boom');
  });
  d.trigger();
  t.throws(() => clock.advance(100), /boom/);
  d.trigger();
  clock.advance(100);
  t.equal(calls, 2);
  t.equal(d.stats.runs, 2);
});
