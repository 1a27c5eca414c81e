import t from 'tap';
import fc from 'fast-check';
import { backoffDelayMs } from '../../src/k8s/backoff';
import { WorkQueue, WorkResult } from '../../src/k8s/work-queue';
import { FakeClock } from '../harness/fake-clock';

t.test('backoff doubles from the base up to the cap, jitter bounded', async (t) => {
  const p = { baseMs: 100, maxMs: 1000, jitter: 0 };
  t.same([0, 1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, p)), [100, 200, 400, 800, 1000, 1000]);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (attempt, r) => {
      const d = backoffDelayMs(attempt, { baseMs: 50, maxMs: 5000, jitter: 0.5 }, () => r);
      return d >= 50 && d <= 7500;
    }),
  );
});

t.test('adds of a waiting key coalesce', async (t) => {
  const q = new WorkQueue<string>({ clock: new FakeClock() });
  q.add('a');
  q.add('b');
  q.add('a');
  t.equal(q.length, 2);
  t.equal(await q.get(), 'a');
  t.equal(await q.get(), 'b');
  t.equal(q.length, 0);
});

t.test('a key added while in flight is handed out again only after done()', async (t) => {
  const q = new WorkQueue<string>({ clock: new FakeClock() });
  q.add('a');
  const k = await q.get();
  t.equal(k, 'a');
  q.add('a');
  q.add('a');
  t.equal(q.length, 0, 'not queued while in flight');
  t.equal(q.inFlight, 1);
  q.done('a');
  t.equal(q.length, 1, 'queued once after done');
  t.equal(await q.get(), 'a');
  q.done('a');
  t.equal(q.length, 0);
});

t.test('a waiting get() receives the next add', async (t) => {
  const q = new WorkQueue<string>({ clock: new FakeClock() });
  const p = q.get();
  q.add('x');
  t.equal(await p, 'x');
  q.shutDown();
  t.equal(await q.get(), undefined, 'undefined after shutdown');
});

t.test('addRateLimited backs off per key and forget resets it', async (t) => {
  const clock = new FakeClock();
  const q = new WorkQueue<string>({ clock, backoff: { baseMs: 10, maxMs: 1000, jitter: 0 } });
  q.addRateLimited('a');
  t.equal(q.length, 0);
  clock.advance(9);
  t.equal(q.length, 0, 'not before 10 ms');
  clock.advance(1);
  t.equal(q.length, 1, 'after 10 ms');
  await q.get();
  q.done('a');
  q.addRateLimited('a');
  clock.advance(19);
  t.equal(q.length, 0, 'second failure waits 20 ms');
  clock.advance(1);
  t.equal(q.length, 1);
  t.equal(q.retries('a'), 2);
  q.forget('a');
  t.equal(q.retries('a'), 0);
});

t.test('run(): one in flight per key, retries until done, many keys in parallel', async (t) => {
  const q = new WorkQueue<string>({ backoff: { baseMs: 1, maxMs: 4, jitter: 0 } });
  const active = new Set<string>();
  let overlap = false;
  let maxParallel = 0;
  const attempts = new Map<string, number>();
  const doneKeys = new Set<string>();
  for (let i = 0; i < 10; i++) {
    q.add(`k${i}`);
    q.add(`k${i}`);
  }
  q.add('flaky');
  const finished = new Promise<void>((resolve) => {
    void q.run(4, async (key) => {
      if (active.has(key)) overlap = true;
      active.add(key);
      maxParallel = Math.max(maxParallel, active.size);
      await new Promise((r) => setImmediate(r));
      active.delete(key);
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (key === 'flaky' && n < 3) return WorkResult.Retry;
      doneKeys.add(key);
      if (doneKeys.size === 11) resolve();
      return WorkResult.Done;
    });
  });
  await finished;
  q.shutDown();
  t.notOk(overlap, 'never two workers on one key');
  t.ok(maxParallel > 1, 'different keys ran in parallel');
  t.equal(attempts.get('flaky'), 3, 'retried until Done');
  t.equal(attempts.get('k0'), 1, 'coalesced adds processed once');
});

t.test('property: every added key is processed, never concurrently with itself', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }), async (keys) => {
      const q = new WorkQueue<number>();
      const active = new Set<number>();
      const seen = new Set<number>();
      let bad = false;
      const runner = q.run(3, async (k) => {
        if (active.has(k)) bad = true;
        active.add(k);
        await Promise.resolve();
        active.delete(k);
        seen.add(k);
        return WorkResult.Done;
      });
      for (const k of keys) q.add(k);
      const deadline = Date.now() + 2000;
      while ((q.length > 0 || q.inFlight > 0) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      q.shutDown();
      await runner;
      return !bad && [...new Set(keys)].every((k) => seen.has(k));
    }),
    { numRuns: 50 },
  );
  t.pass();
});
