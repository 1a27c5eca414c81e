// The `metallb.io/IPAllocated` Service condition against a real apiserver: False with the reason
// while a Service is pending, True once it has an IP, another controller's condition kept
// throughout, and the apiserver's metav1.Condition validation accepts what we write.
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { freePort } from '../harness/free-port';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { silentLogger } from '../../src/util/log';
import { RELEASE_NS, applyPool, installCrds, lbService, until } from '../fixtures/controller/cluster';
import { IP_ALLOCATED_CONDITION } from '../../src/controller/service-condition';

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}
interface SvcWithConditions {
  status?: { loadBalancer?: { ingress?: { ip?: string }[] }; conditions?: Cond[] };
}

const FOREIGN = { type: 'example.com/Probed', status: 'True', reason: 'Reachable', message: 'written by another controller', lastTransitionTime: '2026-01-01T00:00:00Z' };

t.test('Service status carries why it is pending, and that it is not any more', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp);
  t.teardown(() => client.close());
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'apps' } } });
  await applyPool(client, 'tiny', { addresses: ['10.77.20.7/32'] });
  const get = (name: string): Promise<SvcWithConditions> => client.request<SvcWithConditions>({ method: 'GET', path: `/api/v1/namespaces/apps/services/${name}` });
  const ours = (s: SvcWithConditions): Cond | undefined => s.status?.conditions?.find((c) => c.type === IP_ALLOCATED_CONDITION);

  const port = await freePort();
  const opts = controllerOptionsFrom({ kubeconfig: cp.kubeconfigPath, namespace: RELEASE_NS, port, host: '127.0.0.1', podName: '' });
  const ctrl = await startController(opts, silentLogger());
  t.teardown(() => ctrl.stop());

  await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'first') });
  const first = await until('first has IPAllocated=True', 30_000, async () => {
    const c = ours(await get('first'));
    return c?.status === 'True' ? c : undefined;
  });
  t.match(first, { reason: 'IPAllocated', message: 'Assigned IP ["10.77.20.7"] from pool "tiny"' });
  t.match(first.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'second') });
  // Another controller's condition, merged by type (strategic merge patch on the status subresource).
  await client.request({
    method: 'PATCH',
    path: '/api/v1/namespaces/apps/services/second/status',
    body: { status: { conditions: [FOREIGN] } },
    contentType: 'application/strategic-merge-patch+json',
  });
  const pending = await until('second has IPAllocated=False', 30_000, async () => {
    const s = await get('second');
    return ours(s)?.status === 'False' ? s : undefined;
  });
  t.match(ours(pending), { reason: 'AllocationFailed', message: /no available IPs/ });
  t.same(pending.status?.conditions?.find((c) => c.type === FOREIGN.type), FOREIGN, 'the other controller keeps its condition');
  t.equal(pending.status?.loadBalancer?.ingress, undefined, 'no IP');

  await client.request({ method: 'DELETE', path: '/api/v1/namespaces/apps/services/first' });
  const served = await until('second flips to True once the address frees', 30_000, async () => {
    const s = await get('second');
    return ours(s)?.status === 'True' ? s : undefined;
  });
  t.equal(served.status?.loadBalancer?.ingress?.[0]?.ip, '10.77.20.7');
  t.match(ours(served), { reason: 'IPAllocated' });
  t.same(served.status?.conditions?.find((c) => c.type === FOREIGN.type), FOREIGN, 'still kept after our rewrite');

  await client.request({
    method: 'PATCH',
    path: '/api/v1/namespaces/apps/services/second',
    body: { spec: { type: 'ClusterIP' } },
    contentType: 'application/merge-patch+json',
  });
  const plain = await until('our condition is removed when it stops being a LoadBalancer', 30_000, async () => {
    const s = await get('second');
    return ours(s) === undefined && s.status?.loadBalancer?.ingress === undefined ? s : undefined;
  });
  t.same(plain.status?.conditions, [FOREIGN], 'only the foreign condition is left');
});
