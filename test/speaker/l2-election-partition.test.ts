// Regressions from the soak's link-flap fault (a node's LAN link down for 4.7 s, its API
// connection up). Each side saw the other dead on the wire, so both took the same VIP Leases back
// and forth at the API's pace; one node's answer to its own write then arrived after the watch had
// delivered the other's later write, the older answer replaced the newer view, and two nodes
// announced one VIP, each defending it, for 90 s until an unrelated fault ended it.
import t from 'tap';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore, WriteResult } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const ip = '10.77.0.100';
const rv = (l: Lease): number => Number(l.metadata?.resourceVersion ?? 0);

/** The VIP's Lease at `version`, held by `holder`, written by the holder itself (its MACs set). */
function vipLease(version: number, holder: string): Lease {
  const macs = holder ? `eth0=02:00:00:00:00:0${holder === 'a' ? 1 : holder === 'b' ? 2 : 3}` : '';
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'metallb-vip-10-77-0-100', namespace: 'metallb-system', resourceVersion: String(version), labels: { 'metallb.io/lease-kind': 'vip' }, annotations: { 'metallb.io/ip': ip, 'metallb.io/holder-macs': macs } },
    spec: { holderIdentity: holder, leaseDurationSeconds: 6, renewTime: microTime(Date.now()), acquireTime: microTime(Date.now()) },
  };
}

function presence(node: string, version: number): Lease {
  return { metadata: { name: `metallb-speaker-${node}`, resourceVersion: String(version), labels: { 'metallb.io/lease-kind': 'speaker' } }, spec: { holderIdentity: node, leaseDurationSeconds: 6, renewTime: microTime(Date.now()) } };
}

/** One VIP Lease on a fake server: a CAS write is applied on arrival and answered `latencyMs` later. */
function fakeStore(initial: Lease, latencyMs: number, clock: FakeClock) {
  const state = { current: initial, writes: 0 };
  const apply = (prev: Lease, holder: string): WriteResult => {
    state.writes++;
    if (rv(prev) !== rv(state.current)) return { ok: false, conflict: true, error: new Error('409 Conflict') };
    state.current = { ...vipLease(rv(state.current) + 1, holder) };
    return { ok: true, lease: state.current };
  };
  const later = (r: WriteResult): Promise<WriteResult> => new Promise((res) => clock.setTimeout(() => res(r), latencyMs));
  const store = {
    writeCount: 0,
    claim: (name: string, _kind: string, holder: string, _ann: unknown, prev: Lease | undefined) =>
      name.startsWith('metallb-vip-') && prev ? later(apply(prev, holder)) : Promise.resolve({ ok: true, lease: presence(holder, 1) }),
    release: (prev: Lease, to = '') => later(apply(prev, to)),
    remove: () => Promise.resolve({ ok: false, conflict: false, error: new Error('not modelled') }),
  } as unknown as LeaseStore;
  return { store, state };
}

function election(store: LeaseStore, clock: FakeClock, probe: () => Promise<boolean | undefined>) {
  const dataPlane: L2DataPlane = { announce: () => true, withdraw: () => undefined, probe, localMacs: () => new Map([['eth0', '02:00:00:00:00:01']]) };
  return new L2Election({ me: 'a', store, dataPlane, log: silentLogger(), timing: { ...DEFAULT_ELECTION_TIMING, renewIntervalMs: 60_000, tickMs: 60_000 }, clock, apiHealthySince: () => -1e9 });
}

t.test("an answer to our write that arrives after the watch delivered a later write does not replace it", async (t) => {
  const clock = new FakeClock(1e9);
  const { store, state } = fakeStore(vipLease(10, ''), 100, clock);
  const el = election(store, clock, async () => true);
  el.onLease(presence('c', 3));
  el.onLease(vipLease(10, ''));
  el.setDesired(new Map([[ip, { ranked: ['a', 'c'], interfaces: 'all' as const }]]));
  await clock.run(10);
  t.equal(state.current.spec?.holderIdentity, 'a', 'our acquisition reached the server; its answer is on the way');
  // c takes the Lease (it saw us dead on the wire) and the watch delivers that before our answer.
  state.current = vipLease(rv(state.current) + 1, 'c');
  el.onLease(state.current);
  await clock.run(200);
  t.same(el.announced(), [], 'we do not announce: our view still names c, the later record');
  el.stop();
});

t.test('a holder that takes a Lease itself is alive again: no immediate take-back on old probe misses', async (t) => {
  const clock = new FakeClock(1e9);
  const { store, state } = fakeStore(vipLease(10, 'b'), 20, clock);
  let answers = false;
  const el = election(store, clock, async () => answers);
  el.start();
  el.onLease(presence('b', 3));
  el.onLease(vipLease(10, 'b'));
  el.setDesired(new Map([[ip, { ranked: ['b', 'a'], interfaces: 'all' as const }]]));
  // b is silent on the wire (a partition): after the misses, a takes its VIP.
  await clock.run(3_000);
  t.equal(state.current.spec?.holderIdentity, 'a', 'a took the VIP from b, silent on the wire');
  // b, whose own probes saw a dead, takes it back; the watch delivers b's own write.
  state.current = vipLease(rv(state.current) + 1, 'b');
  el.onLease(state.current);
  const writesBefore = state.writes;
  // Less than one probe period (the last round was just now): no fresh probe of b, so a write here
  // could only rest on the misses counted before b wrote.
  await clock.run(DEFAULT_ELECTION_TIMING.probeIntervalMs / 2);
  t.equal(state.writes, writesBefore, 'a does not take it straight back on misses counted before b wrote');
  t.same(el.announced(), [], 'and does not announce it');
  // Fresh evidence still counts: b stays silent, so a takes the VIP again after new misses.
  await clock.run(3_000);
  t.equal(state.current.spec?.holderIdentity, 'a', 'after fresh misses a takes it again');
  // Once b answers again, nothing moves.
  answers = true;
  state.current = vipLease(rv(state.current) + 1, 'b');
  el.onLease(state.current);
  const settled = state.writes;
  await clock.run(5_000);
  t.equal(state.writes, settled, 'with b answering its probes, a leaves the VIP with b');
  el.stop();
});
