import t from 'tap';
import { decideLease, leaseRecordKey, microTime } from '../../src/k8s/lease';

const claim = (identity: string, nowMs: number, observedAtMs: number) => ({ identity, leaseDurationSec: 6, nowMs, observedAtMs });

t.test('microTime has microsecond precision like metav1.MicroTime', async (t) => {
  t.equal(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678)), '2025-01-02T03:04:05.678000Z');
});

t.test('absent lease: create with us as holder', async (t) => {
  const d = decideLease(undefined, claim('a', 1000, 1000));
  t.equal(d.action, 'create');
  t.match(d, { spec: { holderIdentity: 'a', leaseDurationSeconds: 6, leaseTransitions: 0 } });
});

t.test('held by us: renew, keeping acquireTime and transitions', async (t) => {
  const d = decideLease({ holderIdentity: 'a', leaseDurationSeconds: 6, acquireTime: 'T0', renewTime: 'T1', leaseTransitions: 3 }, claim('a', 5000, 1000));
  t.match(d, { action: 'update', acquired: false, spec: { holderIdentity: 'a', acquireTime: 'T0', leaseTransitions: 3 } });
});

t.test('held by another and not expired since we observed it: wait', async (t) => {
  const d = decideLease({ holderIdentity: 'b', leaseDurationSeconds: 6, renewTime: 'x', leaseTransitions: 1 }, claim('a', 5000, 1000));
  t.same(d, { action: 'wait', holder: 'b', expiresInMs: 2000 });
});

t.test('held by another and expired: take it, counting a transition', async (t) => {
  const d = decideLease({ holderIdentity: 'b', leaseDurationSeconds: 6, renewTime: 'x', leaseTransitions: 1 }, claim('a', 7000, 1000));
  t.match(d, { action: 'update', acquired: true, spec: { holderIdentity: 'a', leaseTransitions: 2 } });
});

t.test('released (empty holder): take it at once', async (t) => {
  const d = decideLease({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 }, claim('a', 1000, 1000));
  t.match(d, { action: 'update', acquired: true, spec: { holderIdentity: 'a', leaseTransitions: 5 } });
});

t.test('record key changes when the holder renews', async (t) => {
  t.not(leaseRecordKey({ holderIdentity: 'a', renewTime: '1' }), leaseRecordKey({ holderIdentity: 'a', renewTime: '2' }));
  t.equal(leaseRecordKey(undefined), '');
});
