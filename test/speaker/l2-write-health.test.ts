// Failed Lease writes are an API outage (src/speaker/l2-election-core.ts, lease-write-health.ts).
// Regression: with etcd down behind a live apiserver, watches stayed open, so a successor that had
// "watched a healthy API" for more than a lease duration found the holder's Lease unrenewed when
// etcd came back and took it (HolderGone) before the holder's first renewal landed.
import t, { type Test } from 'tap';
import { afterWrite, HEALTHY_WRITES, writesHealthyForMs } from '../../src/speaker/l2-election-core';
import { LeaseWriteHealth } from '../../src/speaker/lease-write-health';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore, WriteResult } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const STALL_MS = 2_000;

t.test('pure: failing or hanging writes reset the healthy time; the end of the trouble starts it again', async (t) => {
  t.equal(writesHealthyForMs(HEALTHY_WRITES, undefined, 5_000, STALL_MS), Infinity, 'no trouble yet: the watch decides');
  const failed = afterWrite(HEALTHY_WRITES, false, 1_000, 1_050, STALL_MS);
  t.equal(writesHealthyForMs(failed, undefined, 9_000, STALL_MS), 0, 'a failed write: unhealthy until one is answered');
  const back = afterWrite(failed, true, 10_000, 10_050, STALL_MS);
  t.equal(writesHealthyForMs(back, undefined, 12_000, STALL_MS), 1_950, 'healthy since the first answer after the failures');
  t.equal(afterWrite(back, true, 13_000, 13_010, STALL_MS), back, 'a quick answer changes nothing');
  const slow = afterWrite(back, true, 13_000, 13_000 + STALL_MS + 1, STALL_MS);
  t.equal(writesHealthyForMs(slow, undefined, 16_000, STALL_MS), 16_000 - (13_000 + STALL_MS + 1), 'an answer slower than the stall time is trouble too');
  t.equal(writesHealthyForMs(back, 13_000, 13_000 + STALL_MS, STALL_MS), 13_000 + STALL_MS - 10_050, 'a write in flight for the stall time is still fine');
  t.equal(writesHealthyForMs(back, 13_000, 13_001 + STALL_MS, STALL_MS), 0, 'one hanging longer is an outage');
  t.same(afterWrite(HEALTHY_WRITES, true, 0, 10, STALL_MS), HEALTHY_WRITES, 'a conflict is an answer (the caller passes true)');
});

t.test('shell: a write hanging past the stall time, then failing, then answered', async (t) => {
  const clock = new FakeClock();
  const h = new LeaseWriteHealth(clock, STALL_MS);
  const answer = (r: WriteResult, ms: number): Promise<WriteResult> => new Promise((res) => clock.setTimeout(() => res(r), ms));
  const hanging = h.track(answer({ ok: false, conflict: false, error: new Error('etcdserver: request timed out') }, 5_000));
  await clock.run(STALL_MS);
  t.equal(h.healthyForMs(), Infinity, 'in flight for exactly the stall time');
  await clock.run(1);
  t.equal(h.healthyForMs(), 0, 'hanging');
  await clock.settle(hanging);
  t.equal(h.healthyForMs(), 0, 'failed');
  await clock.settle(h.track(answer({ ok: false, conflict: true, error: new Error('409') }, 10)));
  await clock.run(1_000);
  t.equal(h.healthyForMs(), 1_000, 'a conflict is an answer: healthy since it');
});

/** A store whose writes fail while `down()`; otherwise they succeed 5 ms later. */
function switchableStore(clock: FakeClock, down: () => boolean, claims: string[]): LeaseStore {
  let rv = 100;
  const later = (r: WriteResult): Promise<WriteResult> => new Promise((res) => clock.setTimeout(() => res(r), 5));
  return {
    writeCount: 0,
    claim: (name: string, kind: string, holder: string, annotations: Record<string, string>) => {
      if (down()) return later({ ok: false, conflict: false, error: new Error('500 etcdserver: request timed out') });
      claims.push(name);
      const lease: Lease = { metadata: { name, resourceVersion: String(++rv), labels: { 'metallb.io/lease-kind': kind }, annotations }, spec: { holderIdentity: holder, leaseDurationSeconds: 6, renewTime: microTime(Date.now() + rv) } };
      return later({ ok: true, lease });
    },
    release: () => later({ ok: false, conflict: false, error: new Error('not modelled') }),
    remove: () => later({ ok: false, conflict: false, error: new Error('not modelled') }),
  } as unknown as LeaseStore;
}

const ip = '10.77.0.100';
const timing = { ...DEFAULT_ELECTION_TIMING, leaseDurationMs: 6_000, renewIntervalMs: 2_000, tickMs: 200 };
const renewTime = (n: number): string => microTime(Date.UTC(2026, 0, 1) + n);
const vipLease = (holder: string, n: number): Lease => ({
  metadata: { name: 'metallb-vip-10-77-0-100', resourceVersion: String(n), labels: { 'metallb.io/lease-kind': 'vip' }, annotations: { 'metallb.io/ip': ip, 'metallb.io/holder-macs': 'eth0=02:00:00:00:00:01' } },
  spec: { holderIdentity: holder, leaseDurationSeconds: 6, renewTime: renewTime(n) },
});
const presenceOf = (node: string, n: number): Lease => ({ metadata: { name: `metallb-speaker-${node}`, resourceVersion: String(n), labels: { 'metallb.io/lease-kind': 'speaker' } }, spec: { holderIdentity: node, leaseDurationSeconds: 6, renewTime: renewTime(n) } });

/** Successor b, whose Lease watch stays healthy throughout; holder a renews through `renew()`. */
function successor(t: Test, etcdDown: () => boolean) {
  const clock = new FakeClock();
  const claims: string[] = [];
  const announced = new Set<string>();
  const plane: L2DataPlane = { announce: (v) => announced.add(v).has(v), withdraw: (v) => void announced.delete(v), probe: async () => true, localMacs: () => new Map([['eth0', '02:00:00:00:00:02']]) };
  const b = new L2Election({ me: 'b', store: switchableStore(clock, etcdDown, claims), dataPlane: plane, log: silentLogger(), timing, clock, apiHealthySince: () => 0 });
  t.teardown(() => b.stop());
  let n = 1;
  const renew = (): void => {
    n++;
    b.onLease(presenceOf('a', n));
    b.onLease(vipLease('a', n));
  };
  b.start();
  renew();
  b.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: 'all' as const }]]));
  return { clock, b, claims, announced, renew };
}

t.test('etcd down 15 s behind a live apiserver: the successor does not take the VIP when it returns', async (t) => {
  let down = false;
  const { clock, claims, announced, renew } = successor(t, () => down);
  // Steady state: the holder renews every 2 s; b has watched a healthy API for a long time.
  for (let i = 0; i < 10; i++) {
    await clock.run(timing.renewIntervalMs);
    renew();
  }
  down = true;
  await clock.run(15_000); // no renewal can land: the holder's Lease and presence look stale to b
  down = false;
  // The holder's first renewal lands 1.5 s after etcd returns (it retries on its 1 s tick, and
  // the apiserver is slow to drain its backlog); b's own writes succeed at once.
  await clock.run(1_500);
  t.same(claims.filter((c) => c.startsWith('metallb-vip-')), [], 'b wrote no VIP Lease');
  for (let i = 0; i < 6; i++) {
    renew();
    await clock.run(timing.renewIntervalMs);
  }
  t.same(claims.filter((c) => c.startsWith('metallb-vip-')), [], 'nor later, the holder renewing again');
  t.same([...announced], [], 'b never announced the VIP');
});

t.test('liveness kept: a holder that really is gone is taken a lease duration after writes work again', async (t) => {
  let down = false;
  const { clock, claims, announced } = successor(t, () => down);
  down = true;
  await clock.run(15_000);
  const backAt = clock.now();
  down = false;
  let takenAt: number | undefined;
  for (let i = 0; i < 200 && takenAt === undefined; i++) {
    await clock.run(100);
    if (claims.some((c) => c.startsWith('metallb-vip-'))) takenAt = clock.now();
  }
  t.ok(takenAt !== undefined, 'b took the VIP of the silent holder');
  t.ok(takenAt! - backAt >= timing.leaseDurationMs, `not before a lease duration of working writes (${takenAt! - backAt} ms)`);
  t.ok(takenAt! - backAt <= timing.leaseDurationMs + 1_000, 'nor much later');
  await clock.run(100);
  t.same([...announced], [ip]);
});
