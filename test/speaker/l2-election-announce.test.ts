// Regression: every election tick of a held VIP passed its interfaces to the data plane again,
// and every announce restarts the gratuitous burst, so a 5-round burst (4.4 s) never ended under
// 1 s ticks: each held VIP sent a gratuitous ARP/NA about once a second for as long as it was
// held, and the 60 s refresh never started. A tick now announces only on a change of the
// interface selection, or to retry a selection that named no interface of this node.
import t from 'tap';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore, WriteResult } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const ip = '10.77.0.100';
const TICK_MS = 50;

/** A store where every write succeeds: this node takes and keeps the VIP. */
function grantingStore(clock: FakeClock): LeaseStore {
  let rv = 1;
  const grant = (name: string, holder: string, annotations: Record<string, string>): Promise<WriteResult> => {
    rv++;
    const lease: Lease = {
      metadata: { name, namespace: 'metallb-system', resourceVersion: String(rv), labels: { 'metallb.io/lease-kind': name.startsWith('metallb-vip-') ? 'vip' : 'speaker' }, annotations },
      spec: { holderIdentity: holder, leaseDurationSeconds: 6, renewTime: microTime(Date.now()), acquireTime: microTime(Date.now()) },
    };
    // Answered 2 ms of fake time later, as a server would (an at-once answer lets the election's
    // write loop run in microtasks and starve the timers).
    return new Promise((r) => clock.setTimeout(() => r({ ok: true, lease }), 2));
  };
  return {
    writeCount: 0,
    claim: (name: string, _kind: string, holder: string, annotations: Record<string, string>) => grant(name, holder, annotations),
    release: (prev: Lease, to = '') => grant(prev.metadata?.name ?? '', to, {}),
    remove: () => new Promise((r) => clock.setTimeout(() => r({ ok: true }), 2)),
  } as unknown as LeaseStore;
}

/** A data plane that records announce calls; `exists` decides whether a named interface is here. */
function recordingPlane(exists: (name: string) => boolean): { plane: L2DataPlane; calls: string[] } {
  const calls: string[] = [];
  const plane: L2DataPlane = {
    announce: (_ip, ifaces) => {
      calls.push(ifaces === 'all' ? 'all' : ifaces.join(','));
      return ifaces === 'all' || ifaces.length === 0 || ifaces.some(exists);
    },
    withdraw: () => undefined,
    probe: async () => true,
    localMacs: () => new Map([['eth0', '02:00:00:00:00:01']]),
  };
  return { plane, calls };
}

function election(plane: L2DataPlane, clock: FakeClock): L2Election {
  return new L2Election({
    me: 'a',
    store: grantingStore(clock),
    dataPlane: plane,
    log: silentLogger(),
    timing: { ...DEFAULT_ELECTION_TIMING, tickMs: TICK_MS },
    clock,
    apiHealthySince: () => clock.now() - 60_000,
  });
}

t.test('a held VIP is announced once, not on every tick; a new interface selection is announced', async (t) => {
  const { plane, calls } = recordingPlane(() => true);
  const clock = new FakeClock();
  const el = election(plane, clock);
  el.start();
  t.teardown(() => el.stop());
  el.setDesired(new Map([[ip, { ranked: ['a'], interfaces: 'all' as const }]]));
  await clock.run(TICK_MS * 8);
  t.same(el.announced(), [ip], 'we hold the VIP');
  t.same(calls, ['all'], 'one announce across eight ticks');
  el.setDesired(new Map([[ip, { ranked: ['a'], interfaces: ['eth0'] }]]));
  await clock.run(TICK_MS * 4);
  t.same(calls, ['all', 'eth0'], 'the new selection, once');
  el.setDesired(new Map([[ip, { ranked: ['a'], interfaces: [] }]]));
  await clock.run(TICK_MS * 4);
  t.same(calls, ['all', 'eth0', ''], 'an empty list (all interfaces) is a change from eth0');
});

t.test('a selection naming no interface of this node is retried each tick until one appears', async (t) => {
  let present = false;
  const { plane, calls } = recordingPlane(() => present);
  const clock = new FakeClock();
  const el = election(plane, clock);
  el.start();
  t.teardown(() => el.stop());
  el.setDesired(new Map([[ip, { ranked: ['a'], interfaces: ['eth9'] }]]));
  await clock.run(TICK_MS * 5);
  const failing = calls.length;
  t.ok(failing >= 3, `retried while eth9 is missing (${failing} calls)`);
  present = true;
  await clock.run(TICK_MS * 3);
  const settled = calls.length;
  await clock.run(TICK_MS * 5);
  t.equal(calls.length, settled, 'no further announce once eth9 exists and the VIP is announced');
});
