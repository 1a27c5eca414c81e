// The `metallb.io/IPAllocated` Service condition: what the reconcile asks for in each situation,
// and how it is merged with other controllers' conditions (written only on change).
import t from 'tap';
import {
  AllocationConditionReason,
  IP_ALLOCATED_CONDITION,
  conditionTime,
  mergeServiceCondition,
  type ServiceCondition,
} from '../../src/controller/service-condition';
import { allocatorWith, buildPool, reload } from '../fixtures/controller/allocator';
import { lbService, ServiceStore } from '../fixtures/controller/services';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:05:00Z';
const foreign: ServiceCondition = { type: 'cilium.io/IPAMRequestSatisfied', status: 'False', reason: 'Other', message: 'not mine', lastTransitionTime: T0 };

t.test('reconcile: True with IPs and pool, False with a reason, null off LoadBalancer', async (t) => {
  const alloc = allocatorWith(buildPool('default', ['10.0.0.0/31']));
  const store = new ServiceStore(alloc);
  const a = lbService('ns', 'a');
  store.put(a);
  t.same(store.reconcile('ns/a').condition, { status: 'True', reason: AllocationConditionReason.IPAllocated, message: 'Assigned IP ["10.0.0.0"] from pool "default"' });
  t.same(store.reconcile('ns/a').condition?.status, 'True', 'steady state asks for the same condition');

  const b = lbService('ns', 'b');
  const c = lbService('ns', 'c');
  store.put(b);
  store.put(c);
  store.reconcile('ns/b');
  const full = store.reconcile('ns/c');
  t.match(full.condition, { status: 'False', reason: AllocationConditionReason.AllocationFailed, message: /no available IPs/ });
  t.equal(full.condition?.message, full.pendingReason, 'the condition says what the log line says');

  a.spec.type = 'ClusterIP';
  t.equal(store.reconcile('ns/a').condition, null, 'not a LoadBalancer: our condition must go');

  const other = lbService('ns', 'other', { loadBalancerClass: 'example.com/other' });
  store.put(other);
  t.equal(store.reconcile('ns/other').condition, undefined, 'another class: not ours to touch');
  t.equal(store.remove('ns/b').condition, undefined, 'deleted: nothing to write');

  reload(alloc);
  t.match(store.reconcile('ns/c').condition, { status: 'False', reason: AllocationConditionReason.NoIPAddressPool });
  reload(alloc, buildPool('default', ['10.0.0.0/30']));
  const noClusterIp = lbService('ns', 'n', { clusterIPs: [] });
  noClusterIp.spec.clusterIP = '';
  store.put(noClusterIp);
  t.match(store.reconcile('ns/n').condition, { status: 'False', reason: AllocationConditionReason.NoClusterIP });
});

t.test('merge: added, kept, replaced, removed; other types untouched', async (t) => {
  const want = { status: 'False' as const, reason: AllocationConditionReason.AllocationFailed, message: 'no available IPs' };
  const added = mergeServiceCondition([foreign], want, T0);
  t.same(added, [foreign, { type: IP_ALLOCATED_CONDITION, ...want, lastTransitionTime: T0 }], 'appended after the foreign one');
  t.equal(mergeServiceCondition(added, want, T1), undefined, 'unchanged: nothing to write');

  const reworded = mergeServiceCondition(added, { ...want, message: 'unknown pool "x"' }, T1);
  t.equal(reworded?.[1]?.lastTransitionTime, T0, 'same status: the transition time stays');
  t.equal(reworded?.[1]?.message, 'unknown pool "x"');

  const flipped = mergeServiceCondition(reworded, { status: 'True', reason: AllocationConditionReason.IPAllocated, message: 'Assigned IP ["10.0.0.1"]' }, T1);
  t.same(flipped?.[1], { type: IP_ALLOCATED_CONDITION, status: 'True', reason: 'IPAllocated', message: 'Assigned IP ["10.0.0.1"]', lastTransitionTime: T1 });
  t.same(flipped?.[0], foreign, 'the other controller keeps its condition');

  t.same(mergeServiceCondition(flipped, null, T1), [foreign], 'removed, the rest kept');
  t.equal(mergeServiceCondition([foreign], null, T1), undefined, 'nothing to remove: no write');
  t.equal(mergeServiceCondition(undefined, null, T1), undefined);
  t.same(mergeServiceCondition(undefined, want, T0)?.length, 1, 'no list yet');
});

t.test('merge: a huge message is capped below the apiserver limit', async (t) => {
  const out = mergeServiceCondition(undefined, { status: 'False', reason: AllocationConditionReason.AllocationFailed, message: 'x'.repeat(50_000) }, T0);
  t.ok((out?.[0]?.message.length ?? 0) <= 4096);
  t.match(out?.[0]?.message, /\.\.\.$/);
});

t.test('conditionTime drops fractions (metav1.Time has second precision)', async (t) => {
  t.equal(conditionTime(new Date('2026-12-05T13:07:02.987Z')), '2026-12-05T13:07:02Z');
});

t.test('reasons are valid metav1.Condition reasons', async (t) => {
  for (const r of Object.values(AllocationConditionReason)) t.match(r, /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, r);
  t.match(IP_ALLOCATED_CONDITION, /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/);
});
