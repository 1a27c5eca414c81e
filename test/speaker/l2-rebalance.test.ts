// The pure rebalance planner (src/speaker/l2-rebalance.ts) on an injected clock: off by default,
// only toward a ranked owner that has been live for the settle period, only settled VIPs, never
// while the API is unsettled or writes wait, and never more than `batch` moves per sliding interval.
import t from 'tap';
import { DEFAULT_REBALANCE, planRebalance, RebalanceIdle, trackLiveSince, type HeldVip, type RebalanceMove, type RebalanceOptions, type RebalanceSituation } from '../../src/speaker/l2-rebalance';

const ON: RebalanceOptions = { enabled: true, batch: 2, intervalMs: 10_000, settleMs: 30_000 };

/** Node b holds every VIP; a is each one's ranked owner. Times are ms on the fake clock. */
function situation(over: Partial<RebalanceSituation> = {}): RebalanceSituation {
  return {
    me: 'b',
    nowMs: 100_000,
    held: [{ ip: '10.0.0.1', ranked: ['a', 'b'], heldSinceMs: 0 }],
    liveSinceMs: new Map([
      ['a', 0],
      ['b', 0],
    ]),
    apiHealthyForMs: Infinity,
    writesWaiting: 0,
    recentMovesMs: [],
    ...over,
  };
}

const moves = (s: RebalanceSituation, o: RebalanceOptions = ON): readonly RebalanceMove[] => {
  const p = planRebalance(s, o);
  return p.kind === 'moves' ? p.moves : [];
};

t.test('off by default: nothing moves, whatever the situation', async (t) => {
  t.equal(DEFAULT_REBALANCE.enabled, false);
  t.same(planRebalance(situation(), DEFAULT_REBALANCE), { kind: 'idle', reason: RebalanceIdle.Disabled });
});

t.test('a settled VIP goes to its settled ranked owner', async (t) => {
  t.same(moves(situation()), [{ ip: '10.0.0.1', to: 'a' }]);
});

t.test('who is no ranked owner keeps its VIPs', async (t) => {
  const held = (ranked: string[]): HeldVip[] => [{ ip: '10.0.0.1', ranked, heldSinceMs: 0 }];
  t.same(moves(situation({ held: held(['b', 'a']) })), [], 'we are the ranked owner');
  t.same(moves(situation({ held: held([]) })), [], 'no live candidate at all');
  t.same(moves(situation({ held: held(['a']) })), [], 'we are no candidate: the election releases it by itself');
});

t.test('the ranked owner must have been live for the settle period', async (t) => {
  const since = (aMs: number | undefined): RebalanceSituation => situation({ liveSinceMs: new Map(aMs === undefined ? [] : [['a', aMs]]) });
  t.same(moves(since(100_000 - 29_999)), [], 'live for 29.999 s of 30');
  t.same(moves(since(100_000 - 30_000)), [{ ip: '10.0.0.1', to: 'a' }], 'live for exactly 30 s');
  t.same(moves(since(undefined)), [], 'not live at all (ranked comes from a stale plan)');
});

t.test("a VIP whose Lease changed within the settle period stays (no ping-pong while views converge)", async (t) => {
  t.same(moves(situation({ held: [{ ip: '10.0.0.1', ranked: ['a', 'b'], heldSinceMs: 100_000 - 29_999 }] })), []);
  t.same(moves(situation({ held: [{ ip: '10.0.0.1', ranked: ['a', 'b'], heldSinceMs: 100_000 - 30_000 }] })), [{ ip: '10.0.0.1', to: 'a' }]);
});

t.test('nothing moves right after an API outage, nor while Lease writes wait', async (t) => {
  t.same(planRebalance(situation({ apiHealthyForMs: 29_999 }), ON), { kind: 'idle', reason: RebalanceIdle.ApiUnsettled });
  t.same(planRebalance(situation({ writesWaiting: 1 }), ON), { kind: 'idle', reason: RebalanceIdle.WritesWaiting });
});

t.test('moves in the window count against the batch', async (t) => {
  const held: HeldVip[] = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => ({ ip, ranked: ['a', 'b'], heldSinceMs: 0 }));
  t.same(moves(situation({ held })).length, 2, 'a fresh window allows the batch');
  t.same(moves(situation({ held, recentMovesMs: [95_000] })).length, 1, 'one move 5 s ago leaves one');
  t.same(planRebalance(situation({ held, recentMovesMs: [91_000, 95_000] }), ON), { kind: 'idle', reason: RebalanceIdle.RateLimited });
  t.same(moves(situation({ held, recentMovesMs: [90_000, 95_000] })).length, 1, 'a move exactly one interval ago has left the window');
});

t.test('VIPs go in a stable numeric order, IPv4 first', async (t) => {
  const held: HeldVip[] = ['fd00::10', '10.0.0.10', 'fd00::9', '10.0.0.9'].map((ip) => ({ ip, ranked: ['a', 'b'], heldSinceMs: 0 }));
  t.same(
    moves(situation({ held }), { ...ON, batch: 4 }).map((m) => m.ip),
    ['10.0.0.9', '10.0.0.10', 'fd00::9', 'fd00::10'],
  );
});

t.test('trackLiveSince keeps a live node its time, and a node that lapsed settles again', async (t) => {
  let live = trackLiveSince(new Map(), new Set(['a', 'b']), 1_000);
  t.same([...live], [['a', 1_000], ['b', 1_000]]);
  live = trackLiveSince(live, new Set(['a', 'b']), 5_000);
  t.same([...live], [['a', 1_000], ['b', 1_000]], 'unchanged while both stay live');
  live = trackLiveSince(live, new Set(['b']), 6_000);
  t.same([...live], [['b', 1_000]], 'a restarted (presence released): forgotten');
  live = trackLiveSince(live, new Set(['a', 'b']), 9_000);
  t.same(live.get('a'), 9_000, 'and its settle period starts again when it is back');
});

// After a rolling restart, a planner ticking every second on a fake clock: node b holds 23 VIPs
// whose ranked owner a came back at t=0. Every VIP returns, never more than `batch` in any window
// of `interval`, and none before a has been live for the settle period.
t.test('rate: a rolling-restart backlog drains at batch per interval, after the settle period', async (t) => {
  const o: RebalanceOptions = { enabled: true, batch: 3, intervalMs: 5_000, settleMs: 20_000 };
  const ips = Array.from({ length: 23 }, (_, i) => `10.0.${Math.floor(i / 10)}.${i % 10}`);
  const holder = new Map(ips.map((ip) => [ip, 'b']));
  let liveSince = new Map<string, number>();
  let recent: number[] = [];
  const moved: { ip: string; atMs: number }[] = [];
  for (let nowMs = 0; nowMs <= 120_000; nowMs += 1_000) {
    liveSince = trackLiveSince(liveSince, new Set(['a', 'b']), nowMs);
    recent = recent.filter((m) => nowMs - m < o.intervalMs);
    const held = [...holder].filter(([, h]) => h === 'b').map(([ip]) => ({ ip, ranked: ['a', 'b'], heldSinceMs: -60_000 }));
    const p = planRebalance({ me: 'b', nowMs, held, liveSinceMs: liveSince, apiHealthyForMs: Infinity, writesWaiting: 0, recentMovesMs: recent }, o);
    if (p.kind !== 'moves') continue;
    for (const m of p.moves) {
      holder.set(m.ip, m.to);
      recent.push(nowMs);
      moved.push({ ip: m.ip, atMs: nowMs });
    }
  }
  t.equal(moved.length, 23, 'every VIP went back');
  t.ok(moved.every((m) => m.atMs >= 20_000), 'none before the owner had been live for the settle period');
  for (const m of moved) {
    const inWindow = moved.filter((x) => x.atMs >= m.atMs && x.atMs - m.atMs < o.intervalMs).length;
    if (inWindow > o.batch) t.fail(`${inWindow} moves in the ${o.intervalMs} ms from ${m.atMs}`);
  }
  const last = Math.max(...moved.map((m) => m.atMs));
  t.equal(last, 20_000 + Math.ceil(23 / 3 - 1) * 5_000, 'the last one went after ceil(23/3) windows, no later');
});
