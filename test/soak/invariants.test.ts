// The soak's pure invariant core (bench/soak/invariants.ts): windows, sharing rules, causes,
// RSS growth and crash-line detection, with fixed inputs and a fast-check property.
import t from 'tap';
import fc from 'fast-check';
import {
  allWindows,
  changeCause,
  crashLines,
  dropWindow,
  emptyWindows,
  growthSuspect,
  outageAllowanceMs,
  observeWindow,
  percentile,
  prng,
  rssGrowth,
  sameIps,
  sharingConflicts,
  windowStats,
  type ShareView,
} from '../../bench/soak/invariants';
import { parseMacLines } from '../../bench/soak/probes';

t.test('a window opens at the first bad observation, closes at the next good one, and is flagged once past its bound', async (t) => {
  let s = emptyWindows();
  s = observeWindow(s, 'ip', 1000, undefined, 5000).state;
  t.equal(s.open.size, 0, 'good observations open nothing');
  s = observeWindow(s, 'ip', 2000, '0 MACs', 5000).state;
  const mid = observeWindow(s, 'ip', 6000, '2 MACs', 5000);
  t.notOk(mid.exceeded, 'within the bound');
  const over = observeWindow(mid.state, 'ip', 7001, '0 MACs', 5000);
  t.same(over.exceeded, { subject: 'ip', startMs: 2000, reason: '0 MACs' }, 'exceeded once, with the opening reason');
  t.notOk(observeWindow(over.state, 'ip', 9000, '0 MACs', 5000).exceeded, 'not reported twice');
  const closed = observeWindow(over.state, 'ip', 9500, undefined, 5000).state;
  t.same(closed.closed, [{ subject: 'ip', startMs: 2000, endMs: 9500, reason: '0 MACs', open: false }]);
  t.same(windowStats(closed.closed), { count: 1, p50Ms: 7500, p95Ms: 7500, maxMs: 7500 });
});

t.test('dropWindow and allWindows', async (t) => {
  let s = observeWindow(emptyWindows(), 'a', 10, 'x', 100).state;
  s = observeWindow(s, 'b', 20, 'y', 100).state;
  s = dropWindow(s, 'a', 50);
  t.same(s.closed, [{ subject: 'a', startMs: 10, endMs: 50, reason: 'x (subject gone)', open: false }]);
  t.same(allWindows(s, 70).map((w) => [w.subject, w.endMs, w.open]), [['a', 50, false], ['b', 70, true]]);
  t.equal(dropWindow(s, 'zzz', 1), s, 'dropping an unknown subject changes nothing');
});

t.test('percentile is nearest-rank', async (t) => {
  t.equal(percentile([], 50), 0);
  t.equal(percentile([1, 2, 3, 4], 50), 2);
  t.equal(percentile([1, 2, 3, 4], 95), 4);
  t.equal(percentile([7], 1), 7);
});

const svc = (key: string, ips: string[], sharingKey = '', ports = ['TCP/80'], etp = 'Cluster'): ShareView => ({ key, ips, sharingKey, ports, externalTrafficPolicy: etp });

t.test('sharing conflicts follow the allocator rules', async (t) => {
  t.same(sharingConflicts([svc('a', ['1.1.1.1']), svc('b', ['1.1.1.2'])]), [], 'different IPs never conflict');
  t.match(sharingConflicts([svc('a', ['1.1.1.1']), svc('b', ['1.1.1.1'])]), [{ ip: '1.1.1.1', a: 'a', b: 'b', why: /sharing keys/ }]);
  t.match(sharingConflicts([svc('a', ['1.1.1.1'], 'k'), svc('b', ['1.1.1.1'], 'j', ['TCP/81'])]), [{ why: /sharing keys/ }]);
  t.match(sharingConflicts([svc('a', ['1.1.1.1'], 'k'), svc('b', ['1.1.1.1'], 'k')]), [{ why: /common port TCP\/80/ }]);
  t.match(sharingConflicts([svc('a', ['1.1.1.1'], 'k'), svc('b', ['1.1.1.1'], 'k', ['TCP/81'], 'Local')]), [{ why: /externalTrafficPolicy/ }]);
  t.same(sharingConflicts([svc('a', ['1.1.1.1'], 'k'), svc('b', ['1.1.1.1'], 'k', ['TCP/81']), svc('c', ['1.1.1.1'], 'k', ['UDP/80'])]), [], 'same key, disjoint ports: fine');
});

t.test('an assignment change is caused by an edit of the Service or of either pool, within the window', async (t) => {
  const prev = { ips: ['1.1.1.1'], pool: 'base', sinceMs: 10_000 };
  const causes = [
    { atMs: 5_000, service: 'ns/a', what: 'old edit' },
    { atMs: 11_000, service: 'ns/b', what: 'other service' },
    { atMs: 12_000, pool: 'churn', what: 'pool change' },
  ];
  t.notOk(changeCause(causes, 'ns/a', prev, 'base', 13_000, 1000), 'an old edit and other objects are no cause');
  t.equal(changeCause(causes, 'ns/a', prev, 'churn', 13_000, 1000)?.what, 'pool change', 'the new pool changed');
  t.equal(changeCause(causes, 'ns/a', prev, 'base', 13_000, 6000)?.what, 'old edit', 'slack reaches back before the previous read');
  t.notOk(changeCause(causes, 'ns/a', prev, 'churn', 11_500, 1000), 'a cause after now does not count');
  t.ok(sameIps(['b', 'a'], ['a', 'b']));
  t.notOk(sameIps(['a'], ['a', 'b']));
});

t.test('outages extend the allowed window by their length plus a recovery time', async (t) => {
  t.equal(outageAllowanceMs([], 0, 100, 10), 0);
  t.equal(outageAllowanceMs([{ startMs: 50, endMs: 80 }], 60, 100, 10), 40, 'overlapping outage');
  t.equal(outageAllowanceMs([{ startMs: 50 }], 60, 100, 10), 60, 'ongoing outage counts up to now');
  t.equal(outageAllowanceMs([{ startMs: 10, endMs: 20 }], 60, 100, 10), 0, 'an outage long before the window does not');
  t.equal(outageAllowanceMs([{ startMs: 10, endMs: 55 }], 60, 100, 10), 55, 'one that ended just before it does (recovery)');
});

t.test('RSS growth compares the first and last third by time', async (t) => {
  const samples = [0, 10, 20, 30, 40, 50, 60, 70, 80].map((s, i) => ({ atMs: s * 1000, role: 'speaker', rssMB: 100 + i * 10 }));
  const [g] = rssGrowth(samples, 0, 90_000);
  t.same(g, { role: 'speaker', firstThirdMB: 110, lastThirdMB: 170, maxMB: 180, samples: 9 });
  t.ok(growthSuspect(g!), '+60 MB and x1.55 is suspect');
  t.notOk(growthSuspect({ ...g!, lastThirdMB: 140 }), '+30 MB is not');
  t.notOk(growthSuspect({ ...g!, firstThirdMB: 0 }), 'no first-third samples: no verdict');
});

t.test('crash lines', async (t) => {
  const log = [
    '{"level":30,"event":"sessionUp"}',
    '{"level":50,"event":"uncaughtException","err":{}}',
    'TypeError: x is not a function',
    '    at foo (file.ts:1:1)',
    '{"level":50,"event":"unhandledRejection"}',
    '{"level":40,"msg":"Error: transient, retrying"}',
  ].join('\n');
  t.same(crashLines(log), [
    '{"level":50,"event":"uncaughtException","err":{}}',
    'TypeError: x is not a function',
    '{"level":50,"event":"unhandledRejection"}',
  ]);
});

t.test('probe output parsing', async (t) => {
  const m = parseMacLines('10.77.0.100 02:77:00:00:00:0B\n10.77.0.100 02:77:00:00:00:0c\nfd00:77::100 02:77:00:00:00:0b\ngarbage\n10.77.0.101 \n');
  t.same([...(m.get('10.77.0.100') ?? [])], ['02:77:00:00:00:0b', '02:77:00:00:00:0c']);
  t.same([...(m.get('fd00:77::100') ?? [])], ['02:77:00:00:00:0b']);
  t.notOk(m.has('10.77.0.101'), 'an IP without a MAC is not an answer');
});

t.test('prng is deterministic per seed and within [0, 1)', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
      const a = prng(seed);
      const b = prng(seed);
      for (let i = 0; i < 20; i++) {
        const x = a();
        if (x !== b() || x < 0 || x >= 1) return false;
      }
      return true;
    }),
  );
  t.pass('deterministic');
});

t.test('window tracking property: every bad run becomes exactly one window with its first time', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 60 }), (obs) => {
      let s = emptyWindows();
      let runs = 0;
      let prevBad = false;
      obs.forEach((bad, i) => {
        if (bad && !prevBad) runs++;
        prevBad = bad;
        s = observeWindow(s, 'x', i * 10, bad ? 'bad' : undefined, 1e9).state;
      });
      const ws = allWindows(s, obs.length * 10);
      return ws.length === runs && ws.every((w) => w.endMs > w.startMs && w.startMs % 10 === 0);
    }),
  );
  t.pass('one window per bad run');
});
