// Regression: SIGTERM during a renew. The handover released the Lease with the resourceVersion
// from before the renew that was still in flight, so the release failed as a CAS conflict and the
// successor waited a whole lease duration (2 of 20 graceful runs in bench/l2-failover.ts took
// 6.5-6.8 s instead of ~40 ms). The handover now lets the in-flight write land first.
import t from 'tap';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore, WriteResult } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

/** One Lease on a fake server: writes are applied on arrival and answered `latencyMs` later on `clock`. */
function fakeStore(initial: Lease, latencyMs: number, clock: FakeClock): { store: LeaseStore; current: () => Lease } {
  let current = initial;
  const rv = (l: Lease): number => Number(l.metadata?.resourceVersion ?? 0);
  const apply = (prev: Lease, holder: string): WriteResult => {
    if (rv(prev) !== rv(current)) return { ok: false, conflict: true, error: new Error('409 Conflict') };
    current = { ...current, metadata: { ...current.metadata, resourceVersion: String(rv(current) + 1) }, spec: { ...current.spec, holderIdentity: holder, renewTime: microTime(Date.now()) } };
    return { ok: true, lease: current };
  };
  const later = (r: WriteResult): Promise<WriteResult> => new Promise((res) => clock.setTimeout(() => res(r), latencyMs));
  const unmodelled = (): Promise<WriteResult> => Promise.resolve({ ok: false, conflict: false, error: new Error('not modelled') });
  const store = {
    writeCount: 0,
    claim: (name: string, _kind: string, holder: string, _ann: unknown, prev: Lease | undefined) => (name.startsWith('metallb-vip-') && prev ? later(apply(prev, holder)) : unmodelled()),
    release: (prev: Lease, to = '') => later(apply(prev, to)),
    remove: unmodelled,
  } as unknown as LeaseStore;
  return { store, current: () => current };
}

const ip = '10.77.0.100';

/** The VIP's Lease, held by speaker a (this node) and fresh. */
function vipLeaseHeldByA(): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'metallb-vip-10-77-0-100', namespace: 'metallb-system', resourceVersion: '10', labels: { 'metallb.io/lease-kind': 'vip' }, annotations: { 'metallb.io/ip': ip, 'metallb.io/holder-macs': 'eth0=02:00:00:00:00:01' } },
    spec: { holderIdentity: 'a', leaseDurationSeconds: 6, renewTime: microTime(Date.now()), acquireTime: microTime(Date.now()) },
  };
}

/** Speaker b's fresh presence Lease: b is live, so it is the successor. */
function presenceOfB(): Lease {
  return { metadata: { name: 'metallb-speaker-b', resourceVersion: '3', labels: { 'metallb.io/lease-kind': 'speaker' } }, spec: { holderIdentity: 'b', leaseDurationSeconds: 6, renewTime: microTime(Date.now()) } };
}

t.test('SIGTERM while a renew is in flight still hands the Lease to the successor', async (t) => {
  const lease = vipLeaseHeldByA();
  const clock = new FakeClock();
  const { store, current } = fakeStore(lease, 100, clock);
  // VIP Leases are no longer renewed; the write in flight is the holder publishing the MAC it now
  // serves on (eth1 instead of the annotation's eth0), due at once as a renew used to be.
  const dataPlane: L2DataPlane = { announce: () => true, withdraw: () => undefined, probe: async () => true, localMacs: () => new Map([['eth1', '02:00:00:00:00:09']]) };
  const el = new L2Election({ me: 'a', store, dataPlane, log: silentLogger(), timing: { ...DEFAULT_ELECTION_TIMING, renewIntervalMs: 0, tickMs: 60_000 }, clock, apiHealthySince: () => clock.now() });
  el.onLease(presenceOfB());
  el.onLease(lease);
  // (Seen before any desire, our own Lease looks unwanted; that unmodelled cleanup fails at once.)
  await new Promise((r) => setImmediate(r));
  el.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: 'all' as const }]]));
  t.equal(current().metadata?.resourceVersion, '11', 'a renew reached the server and its answer is still on the way');
  await clock.settle(el.handover(0));
  t.equal(current().spec?.holderIdentity, 'b', 'the Lease was handed to the successor');
});

// Regression (l2-graceful e2e, once in three CI runs): the successor's GARP arrived before the
// reply to our release did, so the stored Lease still named us, the conflict was ignored, and we
// kept answering ARP for the whole handover wait; the client was pulled back to us for ~0.5 s.
t.test('during a handover the successor announcing silences us at once, even before our release is answered', async (t) => {
  const lease = vipLeaseHeldByA();
  const clock = new FakeClock();
  const { store, current } = fakeStore(lease, 300, clock);
  const withdrawn: string[] = [];
  const dataPlane: L2DataPlane = { announce: () => true, withdraw: (v) => void withdrawn.push(v), probe: async () => true, localMacs: () => new Map([['eth0', '02:00:00:00:00:01']]) };
  // renewIntervalMs 0: we renew as soon as the last renew lands, so our own hold is fresh (a
  // claim against a lapsed hold is yielded to anyway, and would not show the race).
  const el = new L2Election({ me: 'a', store, dataPlane, log: silentLogger(), timing: { ...DEFAULT_ELECTION_TIMING, renewIntervalMs: 0, tickMs: 60_000 }, clock, apiHealthySince: () => clock.now() });
  el.onLease(presenceOfB());
  el.onLease(lease);
  await new Promise((r) => setImmediate(r));
  el.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: 'all' as const }]]));
  await clock.run(400);
  t.same(el.announced(), [ip], 'we hold and announce the VIP, and have renewed it');

  const done = el.handover(1_000);
  for (let i = 0; i < 100 && current().spec?.holderIdentity !== 'b'; i++) await clock.run(10);
  t.equal(current().spec?.holderIdentity, 'b', 'the release is committed on the server');
  t.same(withdrawn, [], 'its reply has not reached us yet, and we still answer (make-before-break)');
  el.onConflict(ip, '02:00:00:00:00:02');
  t.same(withdrawn, [ip], "the successor's GARP silences us at once, not after the handover wait");
  t.same(el.announced(), []);
  await clock.settle(done);
  t.same(withdrawn, [ip], 'and the end of the handover withdraws nothing twice');
});
