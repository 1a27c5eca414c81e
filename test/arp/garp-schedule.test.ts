import t from 'tap';
import { DEFAULT_GARP_TIMING, GarpSchedule } from '../../src/arp/garp-schedule';

/** Run the schedule like the shell does (jump to each due time) and record when `ip` is announced. */
function run(s: GarpSchedule, untilMs: number, triggers: Array<[number, string]> = []): Array<[number, string]> {
  const sent: Array<[number, string]> = [];
  const pending = [...triggers];
  for (;;) {
    const due = s.nextDueMs();
    const nextTrigger = pending[0]?.[0];
    const now = Math.min(due ?? Infinity, nextTrigger ?? Infinity);
    if (now > untilMs || now === Infinity) return sent;
    if (nextTrigger !== undefined && nextTrigger <= (due ?? Infinity)) {
      const [, ip] = pending.shift()!;
      if (s.trigger(ip, now)) sent.push([now, ip]);
      continue;
    }
    for (const ip of s.takeDue(now)) sent.push([now, ip]);
  }
}

t.test('default: upstream burst at 0, 1.1, 2.2, 3.3, 4.4 s, then a refresh every 60 s', async (t) => {
  const s = new GarpSchedule();
  t.same(DEFAULT_GARP_TIMING, { burstCount: 5, burstIntervalMs: 1100, refreshIntervalMs: 60_000 });
  t.ok(s.trigger('10.0.0.1', 0));
  const sent = run(s, 125_000).map(([at]) => at);
  t.same(sent, [1100, 2200, 3300, 4400, 64_400, 124_400]);
});

t.test('re-announce during a burst extends it without an extra immediate send', async (t) => {
  const s = new GarpSchedule({ burstCount: 3, burstIntervalMs: 100, refreshIntervalMs: 0 });
  const sent = run(s, 10_000, [
    [0, 'a'],
    [150, 'a'],
  ]).map(([at]) => at);
  // 0 (trigger), 100, then the trigger at 150 resets to 2 more: 200, 300; no refresh.
  t.same(sent, [0, 100, 200, 300]);
  t.equal(s.size, 0, 'no refresh: the entry is gone after the burst');
});

t.test('re-announce after the burst starts a new burst at once', async (t) => {
  const s = new GarpSchedule({ burstCount: 2, burstIntervalMs: 100, refreshIntervalMs: 1000 });
  const sent = run(s, 1500, [
    [0, 'a'],
    [500, 'a'],
  ]).map(([at]) => at);
  t.same(sent, [0, 100, 500, 600]);
});

t.test('remove stops announcements; burstCount 1 goes straight to refresh', async (t) => {
  const s = new GarpSchedule({ burstCount: 1, burstIntervalMs: 100, refreshIntervalMs: 1000 });
  t.ok(s.trigger('a', 0));
  t.equal(s.nextDueMs(), 1000);
  s.remove('a');
  t.equal(s.nextDueMs(), undefined);
  t.same(s.takeDue(10_000), []);
});

t.test('refreshes due within a second of each other are coalesced', async (t) => {
  const s = new GarpSchedule({ burstCount: 1, burstIntervalMs: 0, refreshIntervalMs: 10_000 });
  s.trigger('a', 0);
  s.trigger('b', 400);
  t.same(s.takeDue(10_000), ['a', 'b']);
  t.equal(s.nextDueMs(), 20_000);
});

t.test('invalid timing is rejected', async (t) => {
  t.throws(() => new GarpSchedule({ burstCount: 0, burstIntervalMs: 1, refreshIntervalMs: 0 }), RangeError);
  t.throws(() => new GarpSchedule({ burstCount: 1, burstIntervalMs: -1, refreshIntervalMs: 0 }), RangeError);
  t.throws(() => new GarpSchedule({ burstCount: 1, burstIntervalMs: 1, refreshIntervalMs: NaN }), RangeError);
});
