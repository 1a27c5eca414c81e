import t from 'tap';
import { interfaceKey, liveSpeakersOf, observedAt, ownHoldLapsed, probeWaitMs } from '../../src/speaker/l2-election-core';

t.test('observedAt: a record is timed from when this node first saw it', async (t) => {
  const rec = { holder: 'a', renewTime: '2024-01-01T00:00:00.000000Z' };
  t.equal(observedAt(undefined, 0, rec, 500), 500, 'first sight');
  t.equal(observedAt(rec, 500, { ...rec }, 900), 500, 'the same record again (resync, annotation change) keeps its time');
  t.equal(observedAt(rec, 500, { ...rec, renewTime: '2024-01-01T00:00:01.000000Z' }, 900), 900, 'a renew');
  t.equal(observedAt(rec, 500, { ...rec, holder: 'b' }, 900), 900, 'another holder');
});

t.test('liveSpeakersOf: fresh presence, minus nodes proven dead since their last renew, plus me', async (t) => {
  const view = (holder: string, renewTimeMs: number) => ({ view: { holder, renewTimeMs, durationMs: 1_000 } });
  const presence = new Map([
    ['a', view('a', 100)],
    ['b', view('b', 100)],
    ['c', view('c', 500)],
    ['d', view('', 900)],
  ]);
  t.same([...liveSpeakersOf(presence, new Map(), 'me', 1_000)].sort(), ['a', 'b', 'c', 'me'], 'd released its presence');
  t.same([...liveSpeakersOf(presence, new Map(), 'me', 1_100)].sort(), ['c', 'me'], 'a and b expired');
  t.same([...liveSpeakersOf(presence, new Map([['a', 200], ['c', 400]]), 'me', 1_000)].sort(), ['b', 'c', 'me'], 'a failed probes after its renew; c renewed since');
});

t.test('probeWaitMs: at once after a miss, about a period after an answer', async (t) => {
  t.equal(probeWaitMs(1, 250), 0);
  t.equal(probeWaitMs(0, 250), 225);
  t.equal(probeWaitMs(0, 100), 90);
});

t.test('ownHoldLapsed: never written counts as lapsed, on any clock origin', async (t) => {
  t.ok(ownHoldLapsed(-Infinity, 30_000, 0), 'a monotonic clock starts near 0: -Infinity, not 0, means never');
  t.notOk(ownHoldLapsed(1_000, 30_000, 31_000));
  t.ok(ownHoldLapsed(1_000, 30_000, 31_001));
});

t.test('interfaceKey: all, an empty list and order do not matter', async (t) => {
  t.equal(interfaceKey('all'), interfaceKey([]));
  t.equal(interfaceKey(['eth1', 'eth0']), interfaceKey(['eth0', 'eth1']));
  t.not(interfaceKey(['eth0']), interfaceKey('all'));
});
