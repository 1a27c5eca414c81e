import t from 'tap';
import { AcquireReason, decideVip, ReleaseReason, type VipSituation } from '../../src/speaker/lease-decision';

const base: VipSituation = {
  me: 'a',
  nowMs: 100_000,
  ranked: ['a', 'b', 'c'],
  lease: undefined,
  liveSpeakers: new Set(['a', 'b', 'c']),
  holderProbeMisses: 0,
  probeMissesToTakeOver: 3,
  apiHealthyForMs: 60_000,
};
const lease = (holder: string, ageMs: number) => ({ holder, renewTimeMs: base.nowMs - ageMs, durationMs: 30_000 });
const s = (over: Partial<VipSituation>): VipSituation => ({ ...base, ...over });

// A sequential table in the style of MetalLB's allocator tests: situation -> action.
const table: Array<[string, VipSituation, ReturnType<typeof decideVip>]> = [
  ['free lease, I am best: acquire', s({}), { kind: 'acquire', reason: AcquireReason.Free }],
  ['free lease, someone else is best: wait', s({ me: 'b' }), { kind: 'idle' }],
  ['released lease, I am best: acquire', s({ lease: lease('', 1000) }), { kind: 'acquire', reason: AcquireReason.Released }],
  ['I hold it, fresh: hold', s({ lease: lease('a', 1000) }), { kind: 'hold' }],
  // A VIP Lease is never renewed: the holder's presence Lease keeps every hold of it alive.
  ['I hold it, written long ago: hold, no renewal', s({ lease: lease('a', 10_000) }), { kind: 'hold' }],
  ['I hold it, expired and API down: keep holding', s({ lease: lease('a', 90_000), apiHealthyForMs: 0 }), { kind: 'hold' }],
  ['b holds it since long ago and is alive: watch b, nothing lapses', s({ lease: lease('b', 3_600_000) }), { kind: 'watch-holder', holder: 'b' }],
  [
    'b vanished (presence lapsed) right after writing its VIP Lease: the presence decides',
    s({ lease: lease('b', 1000), ranked: ['a', 'c'], liveSpeakers: new Set(['a', 'c']) }),
    { kind: 'acquire', reason: AcquireReason.HolderGone },
  ],
  ['b vanished, I am not best: idle', s({ me: 'c', lease: lease('b', 40_000), ranked: ['a', 'c'], liveSpeakers: new Set(['a', 'c']) }), { kind: 'idle' }],
  ['I hold it but am no longer eligible: release', s({ lease: lease('a', 1000), ranked: ['b', 'c'] }), { kind: 'release', reason: ReleaseReason.NotEligible }],
  ['b holds it, I am first successor: watch b', s({ lease: lease('b', 1000) }), { kind: 'watch-holder', holder: 'b' }],
  ['b holds it, I am second successor: idle', s({ me: 'c', lease: lease('b', 1000) }), { kind: 'idle' }],
  ['b dead on the wire, I am first successor: take over', s({ lease: lease('b', 1000), holderProbeMisses: 3 }), { kind: 'acquire', reason: AcquireReason.HolderDeadOnWire }],
  ['probe misses below threshold: keep watching', s({ lease: lease('b', 1000), holderProbeMisses: 2 }), { kind: 'watch-holder', holder: 'b' }],
  ['second successor never acts on probe misses', s({ me: 'c', lease: lease('b', 1000), holderProbeMisses: 9 }), { kind: 'idle' }],
  [
    'b vanished (no presence, lease expired), I am best: take over',
    s({ lease: lease('b', 40_000), ranked: ['a', 'c'], liveSpeakers: new Set(['a', 'c']) }),
    { kind: 'acquire', reason: AcquireReason.HolderGone },
  ],
  [
    'b vanished but I just reconnected to the API: wait for renewals first',
    s({ lease: lease('b', 40_000), ranked: ['a', 'c'], liveSpeakers: new Set(['a', 'c']), apiHealthyForMs: 5_000 }),
    { kind: 'idle' },
  ],
  ['b no longer eligible but its lease is fresh: b releases by itself', s({ lease: lease('b', 1000), ranked: ['a', 'c'] }), { kind: 'idle' }],
  ['b ineligible and lapsed while alive: best takes it', s({ lease: lease('b', 40_000), ranked: ['a', 'c'] }), { kind: 'acquire', reason: AcquireReason.HolderIneligible }],
  ['nobody eligible: idle', s({ ranked: [] }), { kind: 'idle' }],
  ['I am not eligible, b holds: idle', s({ ranked: ['b', 'c'], lease: lease('b', 1000) }), { kind: 'idle' }],
  ['API down and holder silent: nobody takes over (lease old, but apiHealthy 0)', s({ lease: lease('b', 90_000), ranked: ['a', 'c'], liveSpeakers: new Set(['a', 'c']), apiHealthyForMs: 0 }), { kind: 'idle' }],
];

t.test('VIP ownership table', async (t) => {
  for (const [name, situation, want] of table) t.same(decideVip(situation), want, name);
});

t.test('at most one node ever decides to acquire from the same view', async (t) => {
  const views: VipSituation[] = [
    s({}),
    s({ lease: lease('', 0) }),
    s({ lease: lease('b', 1000), holderProbeMisses: 5 }),
    s({ lease: lease('b', 40_000), ranked: ['a', 'c'], liveSpeakers: new Set(['a', 'c']) }),
  ];
  for (const v of views) {
    const acquirers = ['a', 'b', 'c'].filter((me) => decideVip({ ...v, me }).kind === 'acquire');
    t.ok(acquirers.length <= 1, `one acquirer at most (${acquirers.join(',') || 'none'})`);
  }
});

t.test('a holder proven dead on the wire and dropped from the candidates is taken at once', async (t) => {
  t.same(
    decideVip(s({ lease: lease('b', 1000), ranked: ['a', 'c'], liveSpeakers: new Set(['a', 'c']), holderProbeMisses: 3 })),
    { kind: 'acquire', reason: AcquireReason.HolderDeadOnWire },
  );
});
