// Sequential reconcile scenarios: each step edits the store's Services, reconciles one key and
// checks status, annotation, events and sync result (docs/upstream-behaviour.md §3.3, §3.10).
import t from 'tap';
import { Allocator } from '../../src/controller/allocator/allocator';
import { SyncResult, ReconcileOutcome, type ReconcileOutput } from '../../src/controller/service-reconcile-types';
import { allocatorWith, buildPool, reload } from '../fixtures/controller/allocator';
import { lbService, statusIps, ServiceStore, type Svc } from '../fixtures/controller/services';

const POOL_ANN = 'metallb.io/ip-allocated-from-pool';

function events(out: ReconcileOutput): string[] {
  return out.events.map((e) => `${e.type} ${e.reason}: ${e.message}`);
}

t.test('allocate, stay idempotent, stop being a LoadBalancer, get deleted', async (t) => {
  const store = new ServiceStore(allocatorWith(buildPool('default', ['10.0.0.0/30'])));
  const a = lbService('ns', 'a');
  store.put(a);
  let out = store.reconcile('ns/a');
  t.equal(out.outcome, ReconcileOutcome.Converged);
  t.same(events(out), ['Normal IPAllocated: Assigned IP ["10.0.0.0"]']);
  t.equal(out.result, SyncResult.Success);
  t.ok(out.write);
  t.same(statusIps(a), ['10.0.0.0']);
  t.equal(a.metadata.annotations?.[POOL_ANN], 'default');
  t.equal(out.pendingReason, undefined);

  out = store.reconcile('ns/a');
  t.same(events(out), [], 'second pass: no event');
  t.notOk(out.write, 'second pass: nothing to write');

  // ipMode defaulted by the apiserver does not cause a rewrite.
  a.status = { loadBalancer: { ingress: [{ ip: '10.0.0.0', ipMode: 'VIP' }] } };
  t.notOk(store.reconcile('ns/a').write);

  a.spec.type = 'ClusterIP';
  out = store.reconcile('ns/a');
  t.ok(out.write);
  t.same(statusIps(a), []);
  t.equal(a.metadata.annotations?.[POOL_ANN], undefined);
  t.equal(out.result, SyncResult.ReprocessAll, 'a freed IP may unblock a pending Service');
  t.equal(out.pendingReason, undefined, 'not a LoadBalancer: nothing pending');

  a.spec.type = 'LoadBalancer';
  store.reconcile('ns/a');
  t.same(statusIps(a), ['10.0.0.0']);
  out = store.remove('ns/a');
  t.equal(out.outcome, ReconcileOutcome.Deleted);
  t.equal(out.result, SyncResult.ReprocessAll);
  t.equal(store.remove('ns/a').result, SyncResult.Success, 'deleting an unknown Service');
});

t.test('a plain ClusterIP Service is never touched', async (t) => {
  const store = new ServiceStore(allocatorWith(buildPool('default', ['10.0.0.0/30'])));
  store.put(lbService('ns', 'c', { type: 'ClusterIP' }));
  const out = store.reconcile('ns/c');
  t.notOk(out.write);
  t.same(out.events, []);
  t.equal(out.result, SyncResult.Success);
});

t.test('loadBalancerClass filtering and config not yet loaded', async (t) => {
  const alloc = allocatorWith(buildPool('default', ['10.0.0.0/30']));
  const plain = new ServiceStore(alloc, '');
  plain.put(lbService('ns', 'classy', { loadBalancerClass: 'other' }));
  t.equal(plain.reconcile('ns/classy').outcome, ReconcileOutcome.Ignored, 'no --lb-class: Services with a class are not ours');
  const withClass = new ServiceStore(alloc, 'metallb');
  withClass.put(lbService('ns', 'mine', { loadBalancerClass: 'metallb' }));
  withClass.put(lbService('ns', 'plain'));
  t.same(statusIps(withClass.get('ns/mine')), []);
  withClass.reconcile('ns/mine');
  t.same(statusIps(withClass.get('ns/mine')), ['10.0.0.0']);
  t.equal(withClass.reconcile('ns/plain').outcome, ReconcileOutcome.Ignored, '--lb-class set: only exact matches');
  const early = new ServiceStore(new Allocator());
  early.put(lbService('ns', 'a'));
  const out = early.reconcile('ns/a', false);
  t.equal(out.outcome, ReconcileOutcome.Ignored);
  t.notOk(out.write);
});

t.test('zero pools and missing clusterIPs clear the status and fail without retry', async (t) => {
  const alloc = allocatorWith(buildPool('default', ['10.0.0.0/30']));
  const store = new ServiceStore(alloc);
  const a = lbService('ns', 'a');
  store.put(a);
  store.reconcile('ns/a');
  reload(alloc);
  const out = store.reconcile('ns/a');
  t.equal(out.result, SyncResult.ErrorNoRetry);
  t.same(statusIps(a), [], 'deleting every pool strips the IP');
  t.equal(out.pendingReason, 'no IPAddressPool is configured');
  reload(alloc, buildPool('default', ['10.0.0.0/30']));
  const b = lbService('ns', 'b', { clusterIPs: [] });
  b.spec.clusterIP = '';
  store.put(b);
  const o2 = store.reconcile('ns/b');
  t.equal(o2.result, SyncResult.ErrorNoRetry);
  t.equal(o2.pendingReason, 'the service has no clusterIP yet');
});

// Events land in the refused Service's namespace: they must not tell one tenant which Services
// of another namespace use which IP and port.
t.test('refusal Events name no Service of another namespace', async (t) => {
  const store = new ServiceStore(allocatorWith(buildPool('p', ['10.0.0.0/31'])));
  const share = { 'metallb.io/allow-shared-ip': 'k' };
  store.put(lbService('tenant-a', 'web', { loadBalancerIP: '10.0.0.0', annotations: share }));
  store.put(lbService('tenant-a', 'db', { loadBalancerIP: '10.0.0.1' }));
  t.same(statusIps(store.get('tenant-a/web')), [], 'not reconciled yet');
  store.reconcile('tenant-a/web');
  store.reconcile('tenant-a/db');
  const cases: Array<[string, Svc]> = [
    ['an IP held without sharing', lbService('tenant-b', 'probe', { loadBalancerIP: '10.0.0.1' })],
    ['a guessed sharing key on a taken port', lbService('tenant-b', 'guess', { loadBalancerIP: '10.0.0.0', annotations: share })],
    ['automatic allocation under a guessed key, pool full', lbService('tenant-b', 'auto', { annotations: share })],
    ['the current IP of the Service taken', lbService('tenant-b', 'moved', { ingress: ['10.0.0.1'] })],
  ];
  for (const [what, svc] of cases) {
    store.put(svc);
    const out = store.reconcile(`tenant-b/${svc.metadata.name}`);
    t.ok(out.events.length > 0, `${what}: an Event is written`);
    for (const e of events(out)) t.notMatch(e, /tenant-a/, `${what}: ${e}`);
    t.notMatch(out.pendingReason ?? '', /tenant-a/, `${what}: pending reason`);
  }
});

t.test('requested IPs: spec.loadBalancerIP, annotation, legacy annotation, conflicts', async (t) => {
  const alloc = allocatorWith(buildPool('a', ['10.0.0.0/29']), buildPool('b', ['10.0.1.0/29', 'fd00::/125']));
  const store = new ServiceStore(alloc);
  const s1 = lbService('ns', 's1', { loadBalancerIP: '10.0.0.5' });
  store.put(s1);
  t.same(events(store.reconcile('ns/s1')), ['Normal IPAllocated: Assigned IP ["10.0.0.5"]']);
  const s2 = lbService('ns', 's2', { annotations: { 'metallb.io/loadBalancerIPs': ' 10.0.1.3 ' } });
  store.put(s2);
  store.reconcile('ns/s2');
  t.same(statusIps(s2), ['10.0.1.3'], 'items are trimmed');
  const s3 = lbService('ns', 's3', { annotations: { 'metallb.universe.tf/loadBalancerIPs': '10.0.1.4' } });
  store.put(s3);
  const o3 = store.reconcile('ns/s3');
  t.same(statusIps(s3), ['10.0.1.4'], 'legacy annotation honoured');
  t.same(
    events(o3),
    ['Normal IPAllocated: Assigned IP ["10.0.1.4"]', 'Warning deprecatedAnnotation: Service uses deprecated annotation metallb.universe.tf/loadBalancerIPs'],
    'deprecation warned when writing',
  );
  t.same(events(store.reconcile('ns/s3')), [], 'no warning on a no-op pass');
  const s4 = lbService('ns', 's4', { annotations: { 'metallb.io/loadBalancerIPs': '', 'metallb.universe.tf/loadBalancerIPs': '10.0.1.5' } });
  store.put(s4);
  store.reconcile('ns/s4');
  t.same(statusIps(s4), ['10.0.0.0'], 'the stable key wins even when empty');
  const s5 = lbService('ns', 's5', { loadBalancerIP: '10.0.0.5' });
  store.put(s5);
  const o5 = store.reconcile('ns/s5');
  t.same(events(o5), [
    'Warning AllocationFailed: Failed to allocate IP for "ns/s5": can\'t change sharing key for "ns/s5", address also in use by ns/s1 (existing service does not allow sharing)',
  ]);
  t.equal(o5.pendingReason, 'can\'t change sharing key for "ns/s5", address also in use by ns/s1 (existing service does not allow sharing)');
  const s6 = lbService('ns', 's6', { loadBalancerIP: '10.0.0.6', annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.6' } });
  store.put(s6);
  t.same(events(store.reconcile('ns/s6')), [
    'Warning AllocationFailed: Failed to allocate IP for "ns/s6": service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP',
  ]);
  const s7 = lbService('ns', 's7', { loadBalancerIP: '10.0.1.6', annotations: { 'metallb.io/address-pool': 'a' } });
  store.put(s7);
  t.same(events(store.reconcile('ns/s7')), [
    'Warning AllocationFailed: Failed to allocate IP for "ns/s7": requested loadBalancer IP(s) ["10.0.1.6"] is not compatible with requested address pool a',
  ]);
  t.equal(alloc.allocationOf('ns/s7'), undefined, 'unassigned again');
  const s8 = lbService('ns', 's8', { loadBalancerIP: 'fd00::1' });
  store.put(s8);
  t.same(events(store.reconcile('ns/s8')), [
    'Warning AllocationFailed: Failed to allocate IP for "ns/s8": requested loadBalancer IP(s) ["fd00::1"] does not match the ipFamily of the service',
  ]);
  const s9 = lbService('ns', 's9', { annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.7,nope' } });
  store.put(s9);
  t.same(events(store.reconcile('ns/s9')), [
    'Warning AllocationFailed: Failed to allocate IP for "ns/s9": invalid metallb.io/loadBalancerIPs: "10.0.0.7,nope"',
  ]);
  // The user changes the requested IP of an allocated Service: it moves.
  s1.spec.loadBalancerIP = '10.0.0.7';
  t.same(events(store.reconcile('ns/s1')), ['Normal IPAllocated: Assigned IP ["10.0.0.7"]']);
  t.same(statusIps(s1), ['10.0.0.7']);
  // Then sets both forms: the current IP stays, LoadBalancerFailed is reported.
  s1.metadata.annotations = { 'metallb.io/loadBalancerIPs': '10.0.0.7' };
  const bad = store.reconcile('ns/s1');
  t.same(events(bad), ['Warning LoadBalancerFailed: invalid requested loadbalancer IPs: service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP']);
  t.equal(bad.result, SyncResult.ErrorNoRetry);
  t.notOk(bad.write, 'status untouched');
  t.same(statusIps(s1), ['10.0.0.7']);
});

t.test('pool annotation: allocate from it, move when it changes, unknown pool', async (t) => {
  const alloc = allocatorWith(buildPool('a', ['10.0.0.0/30']), buildPool('b', ['10.0.1.0/30'], { autoAssign: false }));
  const store = new ServiceStore(alloc);
  const s = lbService('ns', 's', { annotations: { 'metallb.io/address-pool': 'b' } });
  store.put(s);
  store.reconcile('ns/s');
  t.same(statusIps(s), ['10.0.1.0'], 'autoAssign=false pool usable by annotation');
  t.equal(s.metadata.annotations?.[POOL_ANN], 'b');
  s.metadata.annotations = { ...s.metadata.annotations, 'metallb.io/address-pool': 'a' };
  store.reconcile('ns/s');
  t.same(statusIps(s), ['10.0.0.0']);
  t.equal(s.metadata.annotations[POOL_ANN], 'a');
  s.metadata.annotations = { ...s.metadata.annotations, 'metallb.io/address-pool': 'zzz' };
  const out = store.reconcile('ns/s');
  t.same(events(out), ['Warning AllocationFailed: Failed to allocate IP for "ns/s": unknown pool "zzz" (pools: a, b)']);
  t.same(statusIps(s), []);
  t.equal(out.result, SyncResult.ReprocessAll, 'the IP it left is free for others');
});

function dualSvc(name: string, policy: string, o: { ingress?: string[]; v6first?: boolean } = {}): Svc {
  const clusterIPs = o.v6first ? ['fd96::10', '10.96.0.10'] : ['10.96.0.10', 'fd96::10'];
  return lbService('ns', name, { clusterIPs, policy, ...(o.ingress ? { ingress: o.ingress } : {}) });
}

t.test('dual stack through the reconcile', async (t) => {
  const alloc = allocatorWith(buildPool('dual', ['10.0.0.0/30', 'fd00::/126']), buildPool('v4', ['10.1.0.0/30']));
  const store = new ServiceStore(alloc);
  const r = dualSvc('r', 'RequireDualStack');
  store.put(r);
  t.same(events(store.reconcile('ns/r')), ['Normal IPAllocated: Assigned IP ["10.0.0.0" "fd00::"]']);
  const short = lbService('ns', 'short', { policy: 'RequireDualStack' });
  store.put(short);
  const o = store.reconcile('ns/short');
  t.same(events(o), ['Warning not enough clusterips: Service requires dual stack but not enough clusterips [10.96.0.10]']);
  t.equal(o.result, SyncResult.ErrorNoRetry);
  // PreferDualStack holding only IPv4 from the dual pool grows an IPv6 from the same pool.
  const p = dualSvc('p', 'PreferDualStack', { ingress: ['10.0.0.1'] });
  store.put(p);
  t.same(events(store.reconcile('ns/p')), ['Normal IPAllocated: Assigned additional IP "fd00::1"']);
  t.same(statusIps(p), ['10.0.0.1', 'fd00::1']);
  // Holding IPv4 from the v4-only pool: the additional family fails on every pass (upstream).
  const q = dualSvc('q', 'PreferDualStack', { ingress: ['10.1.0.0'] });
  store.put(q);
  const oq = store.reconcile('ns/q');
  t.same(events(oq), ['Normal AdditionalAssignFailed: cannot assign additional IP in PreferDualStack: no available IPs in pool v4 for ipv6 IPFamily (has no usable IPv6 addresses)']);
  t.ok(oq.write, 'first pass records the pool annotation');
  const again = store.reconcile('ns/q');
  t.same(events(again), events(oq), 'the failure is reported on every pass, as upstream does');
  t.notOk(again.write);
  // A single-stack PreferDualStack Service never grows (deliberate fix, see service-reconcile.ts).
  const single = lbService('ns', 'single', { policy: 'PreferDualStack', ingress: ['10.0.0.2'] });
  store.put(single);
  const os = store.reconcile('ns/single');
  t.same(events(os), []);
  t.same(statusIps(single), ['10.0.0.2']);
  // An IPv6 LB IP on an IPv4-only Service is cleared and replaced.
  const wrong = lbService('ns', 'wrong', { ingress: ['fd00::3'] });
  store.put(wrong);
  store.reconcile('ns/wrong');
  t.same(statusIps(wrong), ['10.0.0.3']);
  // An unparseable status IP.
  const junk = lbService('ns', 'junk', { ingress: ['not-an-ip'] });
  store.put(junk);
  const oj = store.reconcile('ns/junk');
  t.same(oj.events.map((e) => e.reason), ['nolbIPsIPFamily', 'IPAllocated']);
  t.equal(oj.events[0]?.message, 'Failed to retrieve LBIPs IPFamily for ["<nil>"]: IPFamilyForAddresses: Invalid address ["<nil>"]');
});

t.test('config reload: shrink, rename, split, avoidBuggyIPs, delete', async (t) => {
  const alloc = allocatorWith(buildPool('p', ['10.0.0.0/29']));
  const store = new ServiceStore(alloc);
  for (const n of ['a', 'b', 'c', 'd']) {
    store.put(lbService('ns', n));
    store.reconcile(`ns/${n}`);
  }
  t.same(store.snapshot(), { 'ns/a': ['10.0.0.0'], 'ns/b': ['10.0.0.1'], 'ns/c': ['10.0.0.2'], 'ns/d': ['10.0.0.3'] });
  // Rename: same addresses, new pool name in the annotation, nobody moves.
  const rep = reload(alloc, buildPool('renamed', ['10.0.0.0/29']));
  t.same(rep.moved.map((m) => m.to), ['renamed', 'renamed', 'renamed', 'renamed']);
  t.same(rep.removedPools, ['p']);
  store.reconcileAll();
  t.same(store.snapshot()['ns/a'], ['10.0.0.0']);
  t.equal(store.get('ns/a')?.metadata.annotations?.[POOL_ANN], 'renamed');
  // Split into two pools: addresses keep their owners, annotations follow.
  reload(alloc, buildPool('low', ['10.0.0.0/31']), buildPool('high', ['10.0.0.2/31', '10.0.0.4/30']));
  store.reconcileAll();
  t.same(store.snapshot(), { 'ns/a': ['10.0.0.0'], 'ns/b': ['10.0.0.1'], 'ns/c': ['10.0.0.2'], 'ns/d': ['10.0.0.3'] });
  t.equal(store.get('ns/d')?.metadata.annotations?.[POOL_ANN], 'high');
  // Shrink: .0 and .1 leave every pool; their Services are cleared and re-allocated.
  const shrink = reload(alloc, buildPool('high', ['10.0.0.2/31', '10.0.0.4/30']));
  t.same(shrink.released.map((r) => r.service), ['ns/a', 'ns/b']);
  const outs = store.reconcileAll();
  t.same(events(outs.get('ns/a') as ReconcileOutput), [
    'Normal ClearAssignment: current IP for "ns/a" not allowed by config, will attempt for new IP assignment: ["10.0.0.0"] is not allowed in config (10.0.0.0 is in no pool)',
    'Normal IPAllocated: Assigned IP ["10.0.0.4"]',
  ]);
  t.same(store.snapshot(), { 'ns/a': ['10.0.0.4'], 'ns/b': ['10.0.0.5'], 'ns/c': ['10.0.0.2'], 'ns/d': ['10.0.0.3'] });
  // avoidBuggyIPs on a pool whose .0 is held.
  const z = new ServiceStore(allocatorWith(buildPool('z', ['10.9.0.0/30'])));
  z.put(lbService('ns', 'zero'));
  z.reconcile('ns/zero');
  t.same(statusIps(z.get('ns/zero')), ['10.9.0.0']);
  const buggy = reload(z.alloc, buildPool('z', ['10.9.0.0/30'], { avoidBuggyIPs: true }));
  t.same(buggy.released.map((r) => r.service), ['ns/zero']);
  z.reconcile('ns/zero');
  t.same(statusIps(z.get('ns/zero')), ['10.9.0.1']);
  // Every pool deleted: every status emptied.
  reload(alloc);
  store.reconcileAll();
  t.same(store.snapshot(), { 'ns/a': [], 'ns/b': [], 'ns/c': [], 'ns/d': [] });
});

t.test('sharing through the reconcile; key change triggers reprocess-all', async (t) => {
  const alloc = allocatorWith(buildPool('p', ['10.0.0.0/30']));
  const store = new ServiceStore(alloc);
  const web = lbService('ns', 'web', { annotations: { 'metallb.io/allow-shared-ip': 'k' }, ports: [{ port: 80 }] });
  const dns = lbService('ns', 'dns', {
    annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' },
    ports: [{ protocol: 'UDP', port: 53 }],
    loadBalancerIP: '10.0.0.0',
  });
  store.put(web);
  store.put(dns);
  store.reconcileAll();
  t.same(store.snapshot(), { 'ns/web': ['10.0.0.0'], 'ns/dns': ['10.0.0.0'] });
  web.metadata.annotations = { ...web.metadata.annotations, 'metallb.io/allow-shared-ip': 'other' };
  const out = store.reconcile('ns/web');
  t.same(events(out).map((e) => e.split(':')[0]), ['Normal ClearAssignment', 'Normal IPAllocated']);
  t.same(statusIps(web), ['10.0.0.1']);
  t.equal(out.result, SyncResult.ReprocessAll);
});

t.test('a pending Service says why, pool by pool', async (t) => {
  const alloc = allocatorWith(buildPool('only', ['10.0.0.0/32']), buildPool('team', ['10.1.0.0/32'], { serviceAllocation: { namespaces: ['team'] } }));
  const store = new ServiceStore(alloc);
  store.put(lbService('ns', 'first'));
  store.put(lbService('ns', 'second'));
  store.reconcileAll();
  const out = store.reconcile('ns/second');
  t.equal(out.result, SyncResult.ErrorNoRetry);
  t.equal(
    out.pendingReason,
    'no available IPs (tried only; pool only: all 1 usable IPv4 addresses are in use; pool team: pool team is reserved for namespaces [team], the service is in "ns")',
  );
  t.match(out.events[0]?.message, /^Failed to allocate IP for "ns\/second": no available IPs \(tried only;/);
  store.remove('ns/first');
  store.reconcile('ns/second');
  t.same(statusIps(store.get('ns/second')), ['10.0.0.0'], 'gets the freed IP on the reprocess pass');
});
