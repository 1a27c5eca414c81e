/** The shared slice scheduler on a fake clock: per-task slices, a per-turn budget, round-robin. */
import t from 'tap';
import { SliceScheduler } from '../../src/util/slice-scheduler';

t.test('each turn runs tasks round-robin within the budget, then yields', async (t) => {
  let now = 0;
  const deferred: Array<() => void> = [];
  const s = new SliceScheduler({ sliceMs: 2, turnBudgetMs: 8 }, { now: () => now, defer: (fn) => deferred.push(fn) });
  const ran: string[] = [];
  /** A task with `units` of 1 ms work that stops when told to. */
  const task = (name: string, units: number) => {
    let left = units;
    return (yieldNow: () => boolean): boolean => {
      while (left > 0) {
        left--;
        now += 1;
        ran.push(name);
        if (yieldNow()) break;
      }
      return left > 0;
    };
  };
  const a = task('a', 10);
  const b = task('b', 3);
  const c = task('c', 100);
  s.schedule(a);
  s.schedule(b);
  s.schedule(c);
  s.schedule(a);
  t.equal(s.pending, 3, 'a task is queued once');
  t.equal(deferred.length, 1, 'one turn requested');
  const turnStarts: number[] = [];
  const turnLengths: number[] = [];
  while (deferred.length > 0) {
    const start = now;
    turnStarts.push(start);
    deferred.shift()!();
    turnLengths.push(now - start);
  }
  t.same(ran.slice(0, 8), ['a', 'a', 'b', 'b', 'c', 'c', 'a', 'a'], 'round-robin slices of 2 ms in the first turn');
  t.ok(turnLengths.every((ms) => ms <= 8), `every turn within 8 ms: ${turnLengths.join(',')}`);
  t.equal(ran.filter((x) => x === 'b').length, 3, 'b finished');
  t.equal(ran.length, 113, 'all work done');
  t.equal(s.pending, 0);
});

t.test('cancel drops a queued task; a throwing task is reported and dropped', async (t) => {
  let now = 0;
  const deferred: Array<() => void> = [];
  const errors: unknown[] = [];
  const s = new SliceScheduler({ sliceMs: 2, turnBudgetMs: 8 }, { now: () => now, defer: (fn) => deferred.push(fn), onError: (e) => errors.push(e) });
  let ran = 0;
  const ok = (): boolean => {
    ran++;
    now++;
    return false;
  };
  const bad = (): boolean => {
    throw new Error('bug');
  };
  s.schedule(ok);
  s.cancel(ok);
  s.schedule(bad);
  deferred.shift()!();
  t.equal(ran, 0, 'cancelled task did not run');
  t.equal(errors.length, 1);
  t.equal(s.pending, 0);
  t.equal(deferred.length, 0, 'no turn requested with nothing queued');
});
