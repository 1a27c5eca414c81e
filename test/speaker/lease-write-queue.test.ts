// The pace of VIP Lease writes (src/speaker/lease-write-queue.ts): a takeover of thousands of VIPs
// reaches the apiserver as a bounded burst, then at a steady rate, takeovers first.
import t from 'tap';
import { capacity, floorFor, LeaseWriteQueue, msToNextToken, refill, WritePriority, type WriteBudget } from '../../src/speaker/lease-write-queue';
import { FakeClock } from '../harness/fake-clock';

const budget: WriteBudget = { maxInFlight: 4, perSec: 100, burst: 10 };

t.test('pure: the bucket refills at perSec up to burst', async (t) => {
  t.same(refill({ tokens: 0, atMs: 0 }, 50, budget), { tokens: 5, atMs: 50 }, '100/s: 5 tokens in 50 ms');
  t.same(refill({ tokens: 8, atMs: 0 }, 1_000, budget), { tokens: 10, atMs: 1_000 }, 'capped at the burst');
  t.same(refill({ tokens: 3, atMs: 100 }, 50, budget), { tokens: 3, atMs: 50 }, 'time going back adds nothing');
  t.equal(msToNextToken({ tokens: 1, atMs: 0 }, budget), 0, 'a whole token: now');
  t.equal(msToNextToken({ tokens: 0.5, atMs: 0 }, budget), 5, 'half a token at 100/s: 5 ms');
});

/** A queue whose writes each take `latencyMs`; records when each key started. */
function harness(latencyMs: number, b: WriteBudget = budget) {
  const clock = new FakeClock();
  const started: Array<[string, number]> = [];
  let inFlight = 0;
  let maxSeen = 0;
  const skip = new Set<string>();
  const q = new LeaseWriteQueue(clock, b, (key) => {
    if (skip.has(key)) return undefined;
    started.push([key, clock.now()]);
    maxSeen = Math.max(maxSeen, ++inFlight);
    return new Promise<void>((res) =>
      clock.setTimeout(() => {
        inFlight--;
        res();
      }, latencyMs),
    );
  });
  return { clock, q, started, skip, maxInFlight: () => maxSeen };
}

t.test('a mass takeover is bounded in flight and paced at perSec, and all of it completes', async (t) => {
  const h = harness(1, { maxInFlight: 32, perSec: 100, burst: 10 });
  for (let i = 0; i < 200; i++) h.q.request(`10.0.0.${i}`, WritePriority.Takeover);
  t.equal(h.started.length, 10, 'the burst goes out at once');
  await h.clock.run(1_000);
  const firstSecond = h.started.filter(([, at]) => at <= 1_000).length;
  t.ok(firstSecond <= 10 + 100 + 1, `at most burst + perSec in the first second (${firstSecond})`);
  await h.clock.run(1_000);
  t.equal(h.started.length, 200, 'all 200 written within 2 s at 100/s');
  t.equal(h.q.waiting, 0);
});

t.test('at most maxInFlight writes at once', async (t) => {
  const h = harness(50);
  for (let i = 0; i < 10; i++) h.q.request(`ip${i}`, WritePriority.Normal);
  t.equal(h.started.length, 4, 'four in flight, the rest wait');
  await h.clock.run(200);
  t.equal(h.started.length, 10);
  t.equal(h.maxInFlight(), 4);
});

t.test('takeovers go first; a key is queued once and may be promoted', async (t) => {
  const h = harness(10, { maxInFlight: 1, perSec: 1_000, burst: 1_000 });
  h.q.request('busy', WritePriority.Normal);
  h.q.request('free-1', WritePriority.Normal);
  h.q.request('free-1', WritePriority.Normal);
  h.q.request('free-2', WritePriority.Normal);
  h.q.request('takeover', WritePriority.Takeover);
  h.q.request('free-2', WritePriority.Takeover);
  t.equal(h.q.waiting, 3, 'a repeated request is one entry');
  await h.clock.run(100);
  t.same(
    h.started.map(([k]) => k),
    ['busy', 'takeover', 'free-2', 'free-1'],
    'takeovers (and the promoted key) before the rest',
  );
});

t.test('a turn that needs no write any more costs no token', async (t) => {
  const h = harness(1, { maxInFlight: 8, perSec: 1, burst: 2 });
  h.skip.add('stale-1').add('stale-2').add('stale-3');
  for (const k of ['stale-1', 'stale-2', 'stale-3', 'a', 'b']) h.q.request(k, WritePriority.Normal);
  t.same(
    h.started.map(([k]) => k),
    ['a', 'b'],
    'the burst of 2 went to the two keys that still needed a write',
  );
  h.q.clear();
  h.q.request('c', WritePriority.Normal);
  await h.clock.run(2_000);
  t.same(
    h.started.map(([k]) => k),
    ['a', 'b', 'c'],
    'after clear, new requests still run once a token is back',
  );
});

t.test('a takeover reserve: a node worth of takeovers goes out at maxInFlight pace, ordinary writes keep off it', async (t) => {
  const b: WriteBudget = { maxInFlight: 32, perSec: 250, burst: 250, takeoverBurst: 3_000 };
  const h = harness(5, b);
  for (let i = 0; i < 1_500; i++) h.q.request(`t${i}`, WritePriority.Takeover);
  await h.clock.run(300);
  t.equal(h.started.length, 1_500, '1,500 takeovers at 32 in flight and 5 ms each: done in 300 ms, not 5 s');
  t.equal(h.maxInFlight(), 32, 'never more than maxInFlight at once');
  const lastAt = Math.max(...h.started.map(([, at]) => at));
  t.ok(lastAt <= 240, `the last one started by ${lastAt} ms`);
});

t.test('ordinary writes spend only the burst above the reserve; takeovers still find it intact', async (t) => {
  const b: WriteBudget = { maxInFlight: 1_000, perSec: 100, burst: 10, takeoverBurst: 50 };
  t.equal(capacity(b), 60);
  t.equal(floorFor(WritePriority.Normal, b), 50);
  t.equal(floorFor(WritePriority.Takeover, b), 0);
  t.equal(msToNextToken({ tokens: 50.5, atMs: 0 }, b, 50), 5, 'half a token above the floor at 100/s: 5 ms');
  const h = harness(1, b);
  for (let i = 0; i < 100; i++) h.q.request(`n${i}`, WritePriority.Normal);
  t.equal(h.started.length, 10, 'a start-up burst of acquisitions stops at the reserve');
  for (let i = 0; i < 50; i++) h.q.request(`t${i}`, WritePriority.Takeover);
  t.equal(h.started.length, 60, 'the 50 takeovers go out at once from the reserve');
  await h.clock.run(400);
  const normals = h.started.filter(([k]) => k.startsWith('n')).length;
  t.equal(normals, 10, 'ordinary writes wait while the reserve refills (50 tokens at 100/s: 500 ms)');
  await h.clock.run(2_000);
  t.ok(h.started.filter(([k]) => k.startsWith('n')).length > 10, 'then go on at perSec');
});

t.test('the turn is told how long its key waited', async (t) => {
  const clock = new FakeClock();
  const waited: Array<[string, number]> = [];
  const q = new LeaseWriteQueue(clock, { maxInFlight: 1, perSec: 1_000, burst: 10 }, (key, queuedMs) => {
    waited.push([key, queuedMs]);
    return new Promise<void>((res) => clock.setTimeout(res, 20));
  });
  q.request('a', WritePriority.Normal);
  q.request('b', WritePriority.Normal);
  q.request('b', WritePriority.Takeover);
  await clock.run(100);
  t.same(waited, [['a', 0], ['b', 20]], 'a promotion keeps the first request time');
});

t.test('takeoversWaiting counts the takeovers not yet started, not ordinary writes', async (t) => {
  const h = harness(10, { maxInFlight: 2, perSec: 1_000, burst: 100 });
  h.q.request('n0', WritePriority.Normal);
  for (let i = 0; i < 5; i++) h.q.request(`t${i}`, WritePriority.Takeover);
  t.equal(h.q.takeoversWaiting, 4, 'one takeover started beside the ordinary write; four wait');
  await h.clock.run(100);
  t.equal(h.q.takeoversWaiting, 0, 'all gone out');
  t.equal(h.started.length, 6);
});
