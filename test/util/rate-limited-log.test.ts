/**
 * The rate-limited log with an injected clock and timer: the pure gate's windows, bursts, carried
 * counts and key cap, and the shell's lines (admitted, carried, reported by the timer, flushed).
 */
import t from 'tap';
import { Writable } from 'node:stream';
import { LogRateGate, OVERFLOW_KEY, RateLimitedLog } from '../../src/util/rate-limited-log';
import { createRootLogger } from '../../src/util/log';

const policy = { intervalMs: 1000, burst: 2, maxKeys: 3 };

t.test('gate: burst per window, then counted; the next window carries the count', async (t) => {
  let now = 0;
  const g = new LogRateGate<string>(policy, () => now);
  t.same(g.admit('a'), { log: true, suppressed: 0 }, 'first line');
  t.same(g.admit('a'), { log: true, suppressed: 0 }, 'second line (burst 2)');
  for (let i = 0; i < 5; i++) t.same(g.admit('a'), { log: false });
  t.same(g.admit('b'), { log: true, suppressed: 0 }, 'keys are independent');
  t.equal(g.nextDueAt(), 1000, 'a owes a report at the end of its window');
  now = 999;
  t.same(g.admit('a'), { log: false }, 'still inside the window');
  t.same(g.due(), [], 'nothing due before the window ends');
  now = 1000;
  t.same(g.admit('a'), { log: true, suppressed: 6 }, 'a new window starts and carries the count');
  t.equal(g.nextDueAt(), undefined, 'no report owed: it was carried');
});

t.test('gate: a window that ends without a new occurrence is reported by due(), once', async (t) => {
  let now = 0;
  const g = new LogRateGate<string>(policy, () => now);
  g.admit('a', 'first');
  g.admit('a', 'second');
  g.admit('a', 'third');
  g.admit('a', 'fourth');
  now = 1500;
  t.same(g.due(), [{ key: 'a', suppressed: 2, windowMs: 1500, payload: 'second' }], 'payload of the last logged line');
  t.same(g.due(), [], 'reported once');
  t.same(g.admit('a'), { log: true, suppressed: 0 }, 'after the report a fresh window');
  t.equal(g.size, 1);
});

t.test('gate: keys are capped; overflow counted under one key', async (t) => {
  let now = 0;
  const g = new LogRateGate(policy, () => now);
  for (const k of ['a', 'b', 'c']) t.same(g.admit(k), { log: true, suppressed: 0 });
  t.same(g.admit('d'), { log: false }, 'a fourth key while three are live is counted, not logged');
  t.same(g.admit('e'), { log: false });
  t.equal(g.size, 4, 'three keys and the overflow bucket');
  now = 1000;
  t.same(g.due(), [{ key: OVERFLOW_KEY, suppressed: 2, windowMs: 1000, payload: undefined }]);
  t.equal(g.size, 0, 'ended windows are forgotten');
  t.same(g.admit('d'), { log: true, suppressed: 0 }, 'room again');
  now = 2000;
  for (const k of ['x', 'y']) g.admit(k);
  now = 3500;
  t.same(g.admit('z'), { log: true, suppressed: 0 }, 'ended windows owing nothing are pruned to make room');
});

t.test('gate: drainAll reports open windows too', async (t) => {
  let now = 0;
  const g = new LogRateGate(policy, () => now);
  for (let i = 0; i < 10; i++) g.admit('a');
  now = 10;
  t.same(g.drainAll().map((r) => [r.key, r.suppressed]), [['a', 8]]);
  t.equal(g.size, 0);
});

t.test('shell: one line, a carried count, a timer report when the flood stops, a flush', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  let now = 0;
  const timers: Array<{ fn: () => void; at: number; cancelled: boolean }> = [];
  const log = new RateLimitedLog(createRootLogger('info', sink), { intervalMs: 30_000, burst: 1, maxKeys: 8 }, {
    now: () => now,
    setTimer: (fn, ms) => {
      const h = { fn, at: now + ms, cancelled: false };
      timers.push(h);
      return { cancel: () => (h.cancelled = true) };
    },
  });
  const flood = (n: number): number => {
    let written = 0;
    for (let i = 0; i < n; i++) if (log.warn('updateError', { event: 'updateError', n: i }, 'malformed UPDATE from peer')) written++;
    return written;
  };
  t.equal(flood(2000), 1, '2,000 warnings, one line');
  t.equal(timers.filter((x) => !x.cancelled).length, 1, 'one timer armed for the report');
  t.equal(timers[0]!.at, 30_000);
  now = 30_000;
  timers[0]!.fn();
  await new Promise((r) => setImmediate(r));
  t.equal(lines.length, 2);
  t.match(lines[1], { level: 40, event: 'updateError', suppressed: 1999, msg: /1999 more not logged in the last 30 s/ });
  now = 40_000;
  t.equal(flood(3), 1, 'a later burst: one line again');
  now = 75_000;
  flood(1);
  await new Promise((r) => setImmediate(r));
  t.match(lines.at(-1), { suppressed: 2, n: 0 }, 'the next window carries the count of the last');
  flood(5);
  log.flush();
  await new Promise((r) => setImmediate(r));
  t.match(lines.at(-1), { event: 'updateError', suppressed: 5 }, 'flush reports the open window');
  t.equal(lines.length, 5);
});
