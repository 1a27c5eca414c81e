// Annotation and Service-field readers (docs/upstream-behaviour.md §3.2, §3.4, §3.9).
import t from 'tap';
import {
  allocRequest,
  annotationValue,
  backendKey,
  desiredIps,
  familyOfStrings,
  handlesLoadBalancerClass,
  hasSharingAnnotation,
  requestedPool,
  serviceFamily,
  servicePorts,
  sharingKey,
} from '../../src/controller/annotations';
import { fmt } from '../fixtures/controller/allocator';
import { lbService } from '../fixtures/controller/services';

t.test('stable key wins when present, even empty; else the deprecated key', async (t) => {
  const both = lbService('ns', 'a', { annotations: { 'metallb.io/address-pool': '', 'metallb.universe.tf/address-pool': 'old' } });
  t.equal(requestedPool(both), '');
  const legacy = lbService('ns', 'b', { annotations: { 'metallb.universe.tf/address-pool': 'old' } });
  t.equal(requestedPool(legacy), 'old');
  t.equal(annotationValue(lbService('ns', 'c'), 'x', 'y'), '');
  const share = lbService('ns', 'd', { annotations: { 'metallb.universe.tf/allow-shared-ip': '' } });
  t.equal(sharingKey(share), '');
  t.ok(hasSharingAnnotation(share), 'presence counts for the L2 serviceSelector rule');
  t.notOk(hasSharingAnnotation(lbService('ns', 'e')));
});

t.test('backend key: canonical selector for Local, empty for Cluster', async (t) => {
  t.equal(backendKey(lbService('ns', 'a', { local: { b: '2', a: '1' } })), 'a=1,b=2');
  t.equal(backendKey(lbService('ns', 'b')), '');
  t.equal(backendKey(lbService('ns', 'c', { local: {} })), '');
});

t.test('ports default to TCP', async (t) => {
  t.same(servicePorts(lbService('ns', 'a', { ports: [{ port: 80 }, { protocol: 'UDP', port: 53 }] })), [
    { protocol: 'TCP', port: 80 },
    { protocol: 'UDP', port: 53 },
  ]);
});

t.test('families of cluster IPs, upstream messages', async (t) => {
  t.same(familyOfStrings(['10.0.0.1']), { ok: true, value: 'ipv4' });
  t.same(familyOfStrings(['fd00::1']), { ok: true, value: 'ipv6' });
  t.same(familyOfStrings(['10.0.0.1', 'fd00::1']), { ok: true, value: 'dual' });
  t.same(familyOfStrings(['10.0.0.1', '10.0.0.2']), { ok: false, error: 'IPFamilyForAddresses: same address family ["10.0.0.1" "10.0.0.2"]' });
  t.same(familyOfStrings(['x']), { ok: false, error: 'IPFamilyForAddresses: Invalid address ["x"]' });
  t.same(familyOfStrings(['1.1.1.1', '::1', '2.2.2.2']), { ok: false, error: 'IPFamilyForAddresses: invalid ips length 3 ["1.1.1.1" "::1" "2.2.2.2"]' });
  const noClusterIPs = lbService('ns', 'a', { clusterIPs: [] });
  noClusterIPs.spec.clusterIP = 'fd00::5';
  t.same(serviceFamily(noClusterIPs), { ok: true, value: 'ipv6' }, 'falls back to clusterIP');
});

t.test('requested IPs (§3.4)', async (t) => {
  const pair = desiredIps(lbService('ns', 'a', { annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.1, fd00::1' } }));
  t.ok(pair.ok);
  if (pair.ok) {
    t.same(fmt(pair.value.ips), ['10.0.0.1', 'fd00::1']);
    t.equal(pair.value.family, 'dual');
  }
  t.same(desiredIps(lbService('ns', 'b', { annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.1,10.0.0.2' } })), {
    ok: false,
    error: 'IPFamilyForAddresses: same address family ["10.0.0.1" "10.0.0.2"]',
  });
  t.same(desiredIps(lbService('ns', 'c', { annotations: { 'metallb.io/loadBalancerIPs': '1.1.1.1,::1,2.2.2.2' } })), {
    ok: false,
    error: 'IPFamilyForAddresses: invalid ips length 3 ["1.1.1.1" "::1" "2.2.2.2"]',
  });
  t.same(desiredIps(lbService('ns', 'd', { loadBalancerIP: '10.0.0.999' })), { ok: false, error: 'invalid spec.loadBalancerIP "10.0.0.999"' });
  t.same(desiredIps(lbService('ns', 'e')), { ok: true, value: { ips: [], family: undefined } });
  // A v4-mapped address is IPv6 here, as in the pool parser and the speaker (docs/controller.md).
  t.same(desiredIps(lbService('ns', 'f', { loadBalancerIP: '::ffff:10.0.0.5' })), {
    ok: true,
    value: { ips: [{ family: 6, value: 0xffff0a000005n }], family: 'ipv6' },
  });
  t.same(desiredIps(lbService('ns', 'g', { annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.5,::ffff:10.0.0.5' } })), {
    ok: true,
    value: { ips: [{ family: 4, value: 0x0a000005n }, { family: 6, value: 0xffff0a000005n }], family: 'dual' },
  });
});

t.test('loadBalancerClass filter (§3.9)', async (t) => {
  t.ok(handlesLoadBalancerClass(lbService('ns', 'a'), ''));
  t.notOk(handlesLoadBalancerClass(lbService('ns', 'b', { loadBalancerClass: 'x' }), ''));
  t.ok(handlesLoadBalancerClass(lbService('ns', 'c', { loadBalancerClass: 'x' }), 'x'));
  t.notOk(handlesLoadBalancerClass(lbService('ns', 'd'), 'x'));
});

t.test('allocRequest: primary family from ipFamilies, policy default', async (t) => {
  const r = allocRequest('ns/a', lbService('ns', 'a', { clusterIPs: ['fd96::1', '10.96.0.1'], policy: 'PreferDualStack' }), 'dual');
  t.equal(r.primaryFamily, 6);
  t.equal(r.policy, 'PreferDualStack');
  const s = lbService('ns', 'b');
  delete s.spec.ipFamilyPolicy;
  t.equal(allocRequest('ns/b', s, 'ipv4').policy, 'SingleStack');
});
