import t from 'tap';
import { after, backgroundClock, every, realClock } from '../../src/util/clock';
import { FakeClock } from '../harness/fake-clock';

t.test('every: one call per period until stopped; a call may stop its own loop', async (t) => {
  const clock = new FakeClock();
  const at: number[] = [];
  const stop = every(clock, 100, () => at.push(clock.now()));
  clock.advance(350);
  t.same(at, [100, 200, 300]);
  stop();
  clock.advance(1_000);
  t.same(at, [100, 200, 300], 'nothing after stop');
  t.equal(clock.pending, 0, 'no timer left');
  let calls = 0;
  const stopSelf: () => void = every(clock, 10, () => {
    if (++calls === 2) stopSelf();
  });
  clock.advance(100);
  t.equal(calls, 2, 'stopped from inside its own call');
  t.equal(clock.pending, 0);
});

t.test('after: settles when the clock reaches it, not before', async (t) => {
  const clock = new FakeClock();
  let done = false;
  void after(clock, 50).then(() => (done = true));
  await clock.run(49);
  t.notOk(done);
  await clock.run(1);
  t.ok(done);
});

t.test('FakeClock.settle: runs timers until the promise settles, and says when none can', async (t) => {
  const clock = new FakeClock(1_000);
  t.equal(await clock.settle(after(clock, 250).then(() => clock.now())), 1_250, 'fired at its own due time');
  await t.rejects(clock.settle(new Promise(() => undefined)), /not settled/, 'a promise no timer can settle');
});

t.test('the real clocks are monotonic milliseconds', async (t) => {
  const a = realClock.now();
  const b = backgroundClock.now();
  t.ok(b >= a, 'never goes back');
  t.ok(Math.abs(a - performance.now()) < 1_000, 'performance.now(), not epoch time');
});
