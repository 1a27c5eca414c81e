// Regression: while the API server is unreachable, a holder's renew write failed and was retried
// at once, in a loop (about 400 writes and warnings per second per VIP, seen in
// test/e2e/l2-partition.test.ts). A failed write is now retried on the next tick only; the holder
// keeps announcing meanwhile.
import t from 'tap';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

t.test('a failing renew is retried on the tick, not in a loop', async (t) => {
  const vipClaims: number[] = [];
  const clock = new FakeClock();
  const store = {
    writeCount: 0,
    claim: async (name: string) => {
      if (name.startsWith('metallb-vip-')) vipClaims.push(clock.now());
      // Refused 1 ms (of fake time) later: a retry loop would write about 3,500 times below.
      await new Promise((r) => clock.setTimeout(() => r(undefined), 1));
      return { ok: false as const, conflict: false, error: new Error('connect ECONNREFUSED 127.0.0.1:6443') };
    },
    release: async () => ({ ok: false as const, conflict: false, error: new Error('down') }),
    remove: async () => ({ ok: false as const, conflict: false, error: new Error('down') }),
  } as unknown as LeaseStore;
  const announced = new Set<string>();
  const dataPlane: L2DataPlane = {
    announce: (ip) => announced.add(ip).has(ip),
    withdraw: (ip) => announced.delete(ip),
    probe: async () => true,
    // VIP Leases are no longer renewed: the failing write is the holder publishing the MAC it now
    // serves on (eth1, not the annotation's eth0), retried like a renew was.
    localMacs: () => new Map([['eth1', '02:00:00:00:00:09']]),
  };
  const tickMs = 400;
  const el = new L2Election({ me: 'a', store, dataPlane, log: silentLogger(), timing: { ...DEFAULT_ELECTION_TIMING, tickMs, renewIntervalMs: 2_000, leaseDurationMs: 6_000 }, clock, apiHealthySince: () => undefined });
  t.teardown(() => el.stop());
  const ip = '10.77.0.100';
  // Our own Lease. Expiry and renewal are timed from when this node saw the record (clock-skew
  // safety), so the renew falls due renewIntervalMs (2 s) after onLease.
  const lease: Lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'metallb-vip-10-77-0-100', namespace: 'metallb-system', resourceVersion: '7', labels: { 'metallb.io/lease-kind': 'vip' }, annotations: { 'metallb.io/ip': ip, 'metallb.io/holder-macs': 'eth0=02:00:00:00:00:01' } },
    spec: { holderIdentity: 'a', leaseDurationSeconds: 6, renewTime: microTime(Date.now() - 3_000), acquireTime: microTime(Date.now() - 3_000) },
  };
  el.start();
  el.onLease(lease);
  el.setDesired(new Map([[ip, { ranked: ['a'], interfaces: 'all' as const }]]));
  const started = clock.now();
  await clock.run(3_500);
  const elapsed = clock.now() - started;
  t.ok(announced.has(ip), 'the holder keeps announcing while it cannot renew');
  // At most one write per trigger and per tick once due: a handful, not hundreds.
  const bound = 3 + Math.ceil(elapsed / tickMs);
  t.ok(vipClaims.length <= bound, `${vipClaims.length} renew attempts in ${elapsed} ms (at most ${bound})`);
  t.ok(vipClaims.length >= 1, 'the renew was attempted');
});
