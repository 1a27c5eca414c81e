// The pace of VIP Lease writes (src/speaker/lease-write-queue.ts): a takeover of thousands of VIPs
// reaches the apiserver as a bounded burst, then at a steady rate, takeovers first.
import t from 'tap';
import { LeaseWriteQueue, msToNextToken, refill, WritePriority, type WriteBudget } from '../../src/speaker/lease-write-queue';
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
