// Regression: the speaker compared a status object's stored status with the wanted one by
// JSON.stringify, but the apiserver returns custom resources with their keys sorted, so every
// converge rewrote every ServiceL2Status (bench/api-load.ts: ~0.2 PUTs per VIP per second in
// steady state, twice the Lease renewals).
import t from 'tap';
import { sameStatus } from '../../src/speaker/status-objects';

t.test('sameStatus ignores key order, at every level', async (t) => {
  const want = { node: 'node1', serviceName: 'web', serviceNamespace: 'demo', interfaces: [{ name: 'eth0' }] };
  // As the apiserver returns it: keys sorted.
  const stored = JSON.parse('{"interfaces":[{"name":"eth0"}],"node":"node1","serviceName":"web","serviceNamespace":"demo"}') as typeof want;
  t.ok(sameStatus(stored, want), 'same content in another key order is the same status');
  t.notOk(sameStatus({ ...stored, node: 'node2' }, want), 'a different node is a change');
  t.notOk(sameStatus({ ...stored, interfaces: [] }, want), 'different interfaces are a change');
  t.notOk(sameStatus({ ...stored, interfaces: [{ name: 'eth1' }, { name: 'eth0' }] }, { ...want, interfaces: [{ name: 'eth0' }, { name: 'eth1' }] }), 'list order still matters');
  t.notOk(sameStatus(undefined, want), 'no status yet is a change');
});
