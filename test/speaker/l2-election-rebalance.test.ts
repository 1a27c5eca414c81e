// The L2 election with the opt-in rebalance (src/speaker/l2-rebalancer.ts) on a fake clock and a
// fake Lease server: node b holds a VIP whose ranked owner a is live. With the option on, once a
// has been live for the settle period b hands the Lease to a by CAS and keeps answering until a's
// first GARP (or the 1 s overlap) silences it; with the option off nothing ever moves.
import t from 'tap';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore, WriteResult } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import type { RebalanceOptions } from '../../src/speaker/l2-rebalance';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const ip = '10.77.0.100';
const LONG_SEC = 3_600;

/** Leases by name on a fake server: CAS on resourceVersion, answered `latencyMs` later. */
function fakeStore(clock: FakeClock, latencyMs = 20): { store: LeaseStore; leases: Map<string, Lease>; writes: string[] } {
  const leases = new Map<string, Lease>();
  const writes: string[] = [];
  let rvSeq = 100;
  const put = (name: string, prev: Lease | undefined, spec: Lease['spec'], annotations: Record<string, string>, labels: Record<string, string>): WriteResult => {
    const cur = leases.get(name);
    if ((cur?.metadata?.resourceVersion ?? undefined) !== (prev?.metadata?.resourceVersion ?? undefined)) return { ok: false, conflict: true, error: new Error('409') };
    const lease: Lease = { metadata: { name, resourceVersion: String(++rvSeq), labels, annotations: { ...cur?.metadata?.annotations, ...annotations } }, spec };
    leases.set(name, lease);
    writes.push(`${name}:${spec?.holderIdentity ?? ''}`);
    return { ok: true, lease };
  };
  const later = (r: WriteResult): Promise<WriteResult> => new Promise((res) => clock.setTimeout(() => res(r), latencyMs));
  const store = {
    writeCount: 0,
    claim: (name: string, kind: string, holder: string, ann: Record<string, string>, prev: Lease | undefined) =>
      later(put(name, prev, { holderIdentity: holder, leaseDurationSeconds: LONG_SEC, renewTime: microTime(Date.now() + clock.now()) }, ann, { 'metallb.io/lease-kind': kind })),
    release: (prev: Lease, to = '') =>
      later(put(prev.metadata!.name!, prev, { ...prev.spec, holderIdentity: to, renewTime: microTime(Date.now() + clock.now() + 1) }, { 'metallb.io/holder-macs': '' }, prev.metadata!.labels!)),
    remove: () => Promise.resolve({ ok: false, conflict: false, error: new Error('not modelled') }),
  } as unknown as LeaseStore;
  return { store, leases, writes };
}

function presence(node: string, rv: string): Lease {
  return { metadata: { name: `metallb-speaker-${node}`, resourceVersion: rv, labels: { 'metallb.io/lease-kind': 'speaker' } }, spec: { holderIdentity: node, leaseDurationSeconds: LONG_SEC, renewTime: microTime(Date.now()) } };
}

const REBALANCE: RebalanceOptions = { enabled: true, batch: 1, intervalMs: 5_000, settleMs: 10_000 };

/** Node b's election holding the VIP (ranked owner a), with a live from the start. */
async function holderB(t: { teardown(fn: () => unknown): void }, rebalance: RebalanceOptions | undefined) {
  const clock = new FakeClock(1_000_000);
  const { store, leases, writes } = fakeStore(clock);
  const withdrawn: string[] = [];
  const announced: string[] = [];
  const dataPlane: L2DataPlane = {
    announce: (v) => (announced.push(v), true),
    withdraw: (v) => void withdrawn.push(v),
    probe: async () => true,
    localMacs: () => new Map([['eth0', '02:00:00:00:00:0b']]),
  };
  const el = new L2Election({ me: 'b', store, dataPlane, log: silentLogger(), timing: { ...DEFAULT_ELECTION_TIMING, leaseDurationMs: LONG_SEC * 1000 }, clock, apiHealthySince: () => 0, ...(rebalance ? { rebalance } : {}) });
  t.teardown(() => el.stop());
  el.onLease(presence('a', '1'));
  // b acquired the VIP while a was away (a takeover); a is back now, and ranked first.
  el.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: 'all' as const }]]));
  el.start();
  for (let i = 0; i < 50 && leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity !== 'b'; i++) {
    // While b's view of the plan ranks it alone (a's presence unknown), b acquires the free Lease.
    el.setDesired(new Map([[ip, { ranked: ['b'], interfaces: 'all' as const }]]));
    await clock.run(10);
  }
  await clock.run(50); // the write's answer
  const heldAtStart = leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity;
  el.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: 'all' as const }]]));
  return { clock, leases, writes, withdrawn, el, heldAtStart, announcedAtStart: el.announced() };
}

t.test('on: after the settle period the VIP goes to its ranked owner, make-before-break', async (t) => {
  const { clock, leases, withdrawn, el, heldAtStart, announcedAtStart } = await holderB(t, REBALANCE);
  t.equal(heldAtStart, 'b', 'b holds the VIP');
  t.same(announcedAtStart, [ip], 'and announces it');
  await clock.run(9_000);
  t.equal(leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity, 'b', 'not before the settle period');
  for (let i = 0; i < 200 && leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity !== 'a'; i++) await clock.run(50);
  t.equal(leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity, 'a', 'the Lease was handed to a by one CAS write of b');
  await clock.run(100);
  t.same(withdrawn, [], 'b still answers: a has not announced yet (make-before-break)');
  t.same(el.announced(), [ip]);
  el.onConflict(ip, '02:00:00:00:00:0a');
  t.same(withdrawn, [ip], "a's first GARP silences b at once");
  t.same(el.announced(), []);
  await clock.run(2_000);
  t.same(withdrawn, [ip], 'the end of the overlap withdraws nothing twice');
  t.equal(leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity, 'a', 'and b does not take it back');
  t.equal(el.stats.rebalances, 1, 'counted (metallb_l2_election_rebalances)');
});

t.test('on: without a GARP from the new owner, b goes quiet after the 1 s overlap', async (t) => {
  const { clock, leases, withdrawn, heldAtStart, announcedAtStart } = await holderB(t, REBALANCE);
  t.equal(heldAtStart, 'b', 'b holds the VIP');
  t.same(announcedAtStart, [ip], 'and announces it');
  for (let i = 0; i < 400 && leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity !== 'a'; i++) await clock.run(50);
  t.equal(leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity, 'a');
  const movedAt = clock.now();
  await clock.run(900);
  t.same(withdrawn, [], 'still answering within the overlap');
  await clock.run(200);
  t.same(withdrawn, [ip], `quiet ${clock.now() - movedAt} ms after the move`);
});

t.test('off: nothing moves, however long the ranked owner has been live', async (t) => {
  const { clock, leases, writes, withdrawn, el, heldAtStart, announcedAtStart } = await holderB(t, undefined);
  t.equal(heldAtStart, 'b', 'b holds the VIP');
  t.same(announcedAtStart, [ip], 'and announces it');
  const before = writes.filter((w) => w.startsWith('metallb-vip-')).length;
  await clock.run(120_000);
  t.equal(leases.get('metallb-vip-10-77-0-100')?.spec?.holderIdentity, 'b');
  t.equal(writes.filter((w) => w.startsWith('metallb-vip-')).length, before, 'no VIP Lease write');
  t.same(withdrawn, []);
  t.equal(el.stats.rebalances, 0);
});
