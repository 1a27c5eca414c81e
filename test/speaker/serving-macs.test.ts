// Regression: a VIP Lease carried every Ethernet MAC of the holder's node and successors probed
// the first one, but the holder answers only on an interface serving the VIP, addressed to that
// interface's MAC. On a node whose first NIC is unused, with a bridge whose MAC differs from its
// port's, or with an L2Advertisement naming `interfaces: [eth1]`, the probe was never answered:
// after four misses (about a second) the successor took a live holder's VIP, its own successor
// did the same, and the VIP moved every second or two. The Lease now carries the MACs of the
// interfaces that serve the VIP, and successors probe each of them.
import t, { type Test } from 'tap';
import { anyAnswer, servingMacs } from '../../src/speaker/serving-macs';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore, WriteResult } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import type { InterfaceDescription } from '../../src/arp';
import { every } from '../../src/util/clock';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const UP_BCAST = 0x1 | 0x2;
const nic = (name: string, mac: string, over: Partial<InterfaceDescription> = {}): InterfaceDescription => ({
  name,
  mac,
  flags: UP_BCAST,
  hwType: 1,
  enslaved: false,
  hasIpv6LinkLocal: true,
  ...over,
});

t.test('servingMacs: the MACs of the interfaces that would serve the VIP', async (t) => {
  const unusedFirst = [nic('eno1', '02:00:00:00:00:01', { flags: UP_BCAST & ~0x1 }), nic('eno2', '02:00:00:00:00:02')];
  t.same([...servingMacs(unusedFirst, undefined, '10.0.0.100', 'all')], [['eno2', '02:00:00:00:00:02']], 'a down first NIC is not published');
  const bridged = [nic('eth0', '02:00:00:00:00:0a', { enslaved: true }), nic('br0', '02:00:00:00:00:0b')];
  t.same([...servingMacs(bridged, undefined, '10.0.0.100', 'all')], [['br0', '02:00:00:00:00:0b']], "the bridge's MAC, not its port's");
  const two = [nic('eth0', '02:00:00:00:00:01'), nic('eth1', '02:00:00:00:00:02')];
  t.same([...servingMacs(two, undefined, '10.0.0.100', ['eth1'])], [['eth1', '02:00:00:00:00:02']], 'only the interface the L2Advertisement names');
  t.same([...servingMacs(two, undefined, '10.0.0.100', ['eth9'])], [], 'none when the named interface is missing');
  t.same([...servingMacs(two, ['^eth0$'], '10.0.0.100', 'all')], [['eth1', '02:00:00:00:00:02']], 'excluded interfaces are not published');
  const noV6 = [nic('eth0', '02:00:00:00:00:01', { hasIpv6LinkLocal: false }), nic('eth1', '02:00:00:00:00:02')];
  t.same([...servingMacs(noV6, undefined, 'fd00::100', 'all')], [['eth1', '02:00:00:00:00:02']], 'IPv6: only interfaces that answer NDP');
});

t.test('anyAnswer: alive if any MAC answers; a miss only if a probe went out', async (t) => {
  const clock = new FakeClock();
  const later = <T>(v: T, ms: number): Promise<T> => new Promise((r) => clock.setTimeout(() => r(v), ms));
  const started = clock.now();
  t.equal(await clock.settle(anyAnswer([later(false, 200), later(true, 5)])), true);
  t.ok(clock.now() - started < 150, 'resolves on the first answer, not after the slowest probe');
  t.equal(await clock.settle(anyAnswer([later(false, 5), later(undefined, 5)])), false);
  t.equal(await clock.settle(anyAnswer([later(undefined, 5), later(undefined, 5)])), undefined, 'nothing sent is not a miss');
  t.equal(await clock.settle(anyAnswer([Promise.reject(new Error('x')), later(undefined, 5)])), false);
  t.equal(await anyAnswer([]), undefined);
});

const ip = '10.77.0.100';
const lease = (name: string, holder: string, kind: 'vip' | 'speaker', annotations: Record<string, string> = {}): Lease => ({
  metadata: { name, namespace: 'metallb-system', resourceVersion: '5', labels: { 'metallb.io/lease-kind': kind }, annotations },
  spec: { holderIdentity: holder, leaseDurationSeconds: 30, renewTime: microTime(Date.now()), acquireTime: microTime(Date.now()) },
});

/** A store that grants and records every VIP claim, answering 2 ms (of fake time) later. */
function recordingStore(clock: FakeClock): { store: LeaseStore; claims: Record<string, string>[] } {
  const claims: Record<string, string>[] = [];
  let rv = 10;
  const grant = (name: string, holder: string, annotations: Record<string, string>): Promise<WriteResult> =>
    new Promise((r) => clock.setTimeout(() => r({ ok: true, lease: { ...lease(name, holder, name.startsWith('metallb-vip-') ? 'vip' : 'speaker', annotations), metadata: { ...lease(name, holder, 'vip', annotations).metadata, resourceVersion: String(++rv), labels: { 'metallb.io/lease-kind': name.startsWith('metallb-vip-') ? 'vip' : 'speaker' } } } }), 2));
  const store = {
    claim: (name: string, _kind: string, holder: string, annotations: Record<string, string>) => {
      if (name.startsWith('metallb-vip-')) claims.push(annotations);
      return grant(name, holder, annotations);
    },
    release: (prev: Lease, to = '') => grant(prev.metadata?.name ?? '', to, {}),
    remove: () => Promise.resolve({ ok: true }),
  } as unknown as LeaseStore;
  return { store, claims };
}

/**
 * Node b, first successor of a live holder a whose VIP Lease (renewed every 500 ms) publishes
 * `holderMacs`; the L2Advertisement names eth1.
 */
function successorOf(t: Test, clock: FakeClock, store: LeaseStore, plane: L2DataPlane, holderMacs: string): L2Election {
  const successor = new L2Election({ me: 'b', store, dataPlane: plane, log: silentLogger(), timing: { ...DEFAULT_ELECTION_TIMING, tickMs: 50 }, clock, apiHealthySince: () => clock.now() - 60_000 });
  successor.start();
  t.teardown(() => successor.stop());
  const refresh = (): void => {
    successor.onLease(lease('metallb-speaker-a', 'a', 'speaker'));
    successor.onLease(lease('metallb-vip-x', 'a', 'vip', { 'metallb.io/ip': ip, 'metallb.io/holder-macs': holderMacs }));
  };
  refresh();
  successor.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: ['eth1'] }]]));
  t.teardown(every(clock, 500, refresh));
  return successor;
}

t.test('the holder publishes the MACs serving the VIP; a successor probes each and leaves a live holder alone', async (t) => {
  const ifaces = [nic('eth0', '02:00:00:00:00:01'), nic('eth1', '02:00:00:00:00:02')];
  const clock = new FakeClock();
  // Holder a: the L2Advertisement names eth1.
  const a = recordingStore(clock);
  const planeA: L2DataPlane = { announce: () => true, withdraw: () => undefined, probe: async () => true, localMacs: (vip, sel) => servingMacs(ifaces, undefined, vip, sel) };
  const holder = new L2Election({ me: 'a', store: a.store, dataPlane: planeA, log: silentLogger(), timing: { ...DEFAULT_ELECTION_TIMING, tickMs: 50 }, clock, apiHealthySince: () => clock.now() - 60_000 });
  holder.start();
  t.teardown(() => holder.stop());
  holder.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: ['eth1'] }]]));
  for (const end = clock.now() + 3000; a.claims.length === 0 && clock.now() < end; ) await clock.run(20);
  t.same(a.claims[0]?.['metallb.io/holder-macs'], 'eth1=02:00:00:00:00:02', 'the claim names eth1 only');

  // Successor b sees a Lease of an older holder that lists eth0 first; only eth1 answers.
  const b = recordingStore(clock);
  const probed: string[] = [];
  const planeB: L2DataPlane = {
    announce: () => true,
    withdraw: () => undefined,
    probe: async (_vip, mac) => {
      probed.push(mac);
      await new Promise((r) => clock.setTimeout(() => r(undefined), 5));
      return mac === '02:00:00:00:00:02';
    },
    localMacs: (vip, sel) => servingMacs(ifaces, undefined, vip, sel),
  };
  const successor = successorOf(t, clock, b.store, planeB, 'eth0=02:00:00:00:00:01,eth1=02:00:00:00:00:02');
  // Four misses take about a second; watch for three.
  await clock.run(3000);
  t.ok(probed.includes('02:00:00:00:00:02'), 'the serving MAC was probed');
  t.same(b.claims, [], 'the live holder kept its VIP: no takeover');
  t.same(successor.announced(), [], 'and the successor does not announce it');
});

// A holder whose L2Advertisement names no interface of its node serves nothing and publishes no
// MAC. Upstream's winner keeps such an IP (docs/upstream-behaviour.md §4.3); a successor probing
// some other MAC of it took the Lease, failed the same way, and the two nodes traded it back and
// forth.
t.test('a holder serving on no interface publishes no MAC, and no successor probes it away', async (t) => {
  const ifaces = [nic('eth0', '02:00:00:00:00:01')];
  t.same([...servingMacs(ifaces, undefined, ip, ['eth1'])], [], 'nothing serves eth1 here');
  const clock = new FakeClock();
  const b = recordingStore(clock);
  const probed: string[] = [];
  const plane: L2DataPlane = {
    announce: () => false,
    withdraw: () => undefined,
    probe: async (_vip, mac) => {
      probed.push(mac);
      return false;
    },
    localMacs: (vip, sel) => servingMacs(ifaces, undefined, vip, sel),
  };
  successorOf(t, clock, b.store, plane, '');
  await clock.run(2000);
  t.same(probed, [], 'nothing to probe');
  t.same(b.claims, [], 'the holder keeps the Lease while it renews it');
});
