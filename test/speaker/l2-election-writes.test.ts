// The API cost of the election (docs/speaker.md "API cost"): a VIP Lease is written only when its
// ownership changes; in steady state the presence Lease is the only write, once per renew
// interval, whatever the number of VIPs. A dead node's VIPs are taken over in a paced burst.
import t from 'tap';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore, WriteResult } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const timing = { ...DEFAULT_ELECTION_TIMING, leaseDurationMs: 6_000, renewIntervalMs: 2_000, tickMs: 200 };
const ipOf = (i: number): string => `10.77.${Math.floor(i / 250)}.${i % 250}`;
const desire = (ranked: string[], n: number) => new Map(Array.from({ length: n }, (_, i) => [ipOf(i), { ranked, interfaces: 'all' as const }]));

/** A server that applies every write 5 ms after it starts, recording each write and the peak in flight. */
function fakeServer(clock: FakeClock) {
  let rv = 1_000;
  let inFlight = 0;
  const log = { vip: [] as number[], presence: [] as number[], peakInFlight: 0 };
  const answer = (lease: Lease): Promise<WriteResult> => {
    log.peakInFlight = Math.max(log.peakInFlight, ++inFlight);
    return new Promise((res) =>
      clock.setTimeout(() => {
        inFlight--;
        res({ ok: true, lease });
      }, 5),
    );
  };
  const store = {
    writeCount: 0,
    claim: (name: string, kind: string, holder: string, annotations: Record<string, string>, prev: Lease | undefined) => {
      (kind === 'vip' ? log.vip : log.presence).push(clock.now());
      const metadata = { ...prev?.metadata, name, resourceVersion: String(++rv), labels: { 'metallb.io/lease-kind': kind }, annotations: { ...prev?.metadata?.annotations, ...annotations } };
      return answer({ metadata, spec: { holderIdentity: holder, leaseDurationSeconds: 6, renewTime: microTime(Date.UTC(2026, 0, 1) + rv) } });
    },
    release: () => Promise.resolve({ ok: false, conflict: false, error: new Error('not modelled') }),
    remove: () => Promise.resolve({ ok: false, conflict: false, error: new Error('not modelled') }),
  } as unknown as LeaseStore;
  return { store, log };
}

const vipLease = (i: number, holder: string, mac: string): Lease => ({
  metadata: { name: `metallb-vip-${ipOf(i).replace(/\./g, '-')}`, resourceVersion: String(i + 1), labels: { 'metallb.io/lease-kind': 'vip' }, annotations: { 'metallb.io/ip': ipOf(i), 'metallb.io/holder-macs': `eth0=${mac}` } },
  spec: { holderIdentity: holder, leaseDurationSeconds: 6, renewTime: microTime(Date.UTC(2026, 0, 1)) },
});
const presenceOf = (node: string, n: number): Lease => ({
  metadata: { name: `metallb-speaker-${node}`, resourceVersion: String(n), labels: { 'metallb.io/lease-kind': 'speaker' } },
  spec: { holderIdentity: node, leaseDurationSeconds: 6, renewTime: microTime(Date.UTC(2026, 0, 1) + n) },
});

t.test('steady state: 1,000 held VIPs cost no VIP Lease write; the presence is renewed once per interval', async (t) => {
  const clock = new FakeClock();
  const { store, log } = fakeServer(clock);
  const plane: L2DataPlane = { announce: () => true, withdraw: () => undefined, probe: async () => true, localMacs: () => new Map([['eth0', '02:00:00:00:00:01']]) };
  const a = new L2Election({ me: 'a', store, dataPlane: plane, log: silentLogger(), timing, clock, apiHealthySince: () => 0 });
  t.teardown(() => a.stop());
  a.start();
  a.setDesired(desire(['a', 'b'], 1_000));
  await clock.run(10_000);
  t.equal(a.announced().length, 1_000, 'every VIP acquired and announced');
  t.equal(log.vip.length, 1_000, 'one write per VIP: its acquisition');
  t.ok(log.peakInFlight <= 33, `the acquisitions were paced (${log.peakInFlight} in flight at most)`);
  const vipBefore = log.vip.length;
  const presenceBefore = log.presence.length;
  await clock.run(60_000);
  t.equal(log.vip.length - vipBefore, 0, 'no VIP Lease write in 60 s (30 renew intervals)');
  const presence = log.presence.length - presenceBefore;
  t.ok(presence >= 25 && presence <= 31, `the presence Lease renewed once per interval (${presence} in 60 s)`);
  t.equal(a.announced().length, 1_000, 'still announcing every VIP');
});

t.test("a dead holder's 3,000 VIPs: taken over in a bounded burst, all within 2 s of its death", async (t) => {
  const clock = new FakeClock();
  const { store, log } = fakeServer(clock);
  let bAlive = true;
  const plane: L2DataPlane = { announce: () => true, withdraw: () => undefined, probe: async () => bAlive, localMacs: () => new Map([['eth0', '02:00:00:00:00:01']]) };
  const a = new L2Election({ me: 'a', store, dataPlane: plane, log: silentLogger(), timing, clock, apiHealthySince: () => 0 });
  t.teardown(() => a.stop());
  a.onLease(presenceOf('b', 1));
  for (let i = 0; i < 3_000; i++) a.onLease(vipLease(i, 'b', '02:00:00:00:00:02'));
  a.start();
  a.setDesired(desire(['b', 'a'], 3_000));
  await clock.run(1_000);
  t.equal(log.vip.length, 0, 'b answers probes: nothing is taken');
  a.onLease(presenceOf('b', 2));
  bAlive = false;
  const died = clock.now();
  for (let waited = 0; a.announced().length < 3_000 && waited < 30_000; waited += 100) await clock.run(100);
  const tookMs = clock.now() - died;
  t.equal(a.announced().length, 3_000, 'every VIP of the dead holder taken over');
  t.equal(log.vip.length, 3_000, 'one write per VIP');
  t.ok(log.peakInFlight <= 33, `at most 32 VIP writes (and the presence) in flight (${log.peakInFlight})`);
  const inFirstSecond = log.vip.filter((at) => at - log.vip[0]! < 1_000).length;
  // The takeover reserve (lease-write-queue.ts) covers a node's worth: bounded by burst + reserve + rate.
  t.ok(inFirstSecond <= 250 + 3_000 + 250 + 1, `burst, takeover reserve and rate in the first second (${inFirstSecond})`);
  t.ok(tookMs < 2_000, `all taken ${tookMs} ms after the holder died (probe detection + 3,000 at 32 in flight)`);
});
