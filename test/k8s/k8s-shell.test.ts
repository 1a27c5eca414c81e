// The k8s shell against a real apiserver: informer cache and restart after an apiserver outage,
// Event recording with client-go style de-duplication, Lease CAS and leader election failover.
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { createKubeClient, isConflict } from '../../src/k8s/client';
import { createEventRecorder, EventType } from '../../src/k8s/events';
import { createInformer, type KubeObject, objectKey } from '../../src/k8s/informer';
import { createLeaderElector } from '../../src/k8s/leader-elector';
import { createLease, decideLease, getLease, updateLease } from '../../src/k8s/lease';
import { silentLogger } from '../../src/util/log';

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

t.test('k8s shell against a real apiserver', async (t) => {
  const cp = await startControlPlane(t);
  const client = createKubeClient(cp.kubeConfig);
  t.teardown(() => client.close());
  const log = silentLogger();
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'shell' } } });

  await t.test('informer: cache, events, restart after an apiserver outage', async (t) => {
    const seen: string[] = [];
    const inf = createInformer<ConfigMap>({
      client,
      path: '/api/v1/namespaces/shell/configmaps',
      log,
      backoff: { baseMs: 100, maxMs: 1000, jitter: 0 },
      onEvent: (ev, o) => seen.push(`${ev}:${objectKey(o)}:${o.data?.v ?? ''}`),
    });
    t.teardown(() => inf.stop());
    await client.request({ method: 'POST', path: '/api/v1/namespaces/shell/configmaps', body: { metadata: { name: 'pre' }, data: { v: '0' } } });
    t.notOk(inf.hasSynced(), 'not synced before start');
    await inf.start();
    t.ok(inf.hasSynced(), 'synced after the first list');
    t.equal(inf.get('pre', 'shell')?.data?.v, '0', 'listed object in cache');
    await client.request({ method: 'POST', path: '/api/v1/namespaces/shell/configmaps', body: { metadata: { name: 'a' }, data: { v: '1' } } });
    await client.request({ method: 'PATCH', path: '/api/v1/namespaces/shell/configmaps/a', body: { data: { v: '2' } }, contentType: 'application/merge-patch+json' });
    await until('update seen', 10_000, () => inf.get('a', 'shell')?.data?.v === '2');
    await client.request({ method: 'DELETE', path: '/api/v1/namespaces/shell/configmaps/pre' });
    await until('delete seen', 10_000, () => inf.get('pre', 'shell') === undefined);
    t.ok(seen.includes('add:shell/a:1') && seen.includes('update:shell/a:2') && seen.includes('delete:shell/pre:0'), seen.join(' '));

    await cp.stopApiserver();
    // Give the broken watch a moment to fail against the stopped server before it comes back.
    await until('informer noticed the outage', 10_000, () => inf.restarts() > 0 || undefined).catch(() => undefined);
    await cp.startApiserver();
    await client.request({ method: 'POST', path: '/api/v1/namespaces/shell/configmaps', body: { metadata: { name: 'after' }, data: { v: '3' } } });
    await until('object created after the outage reaches the cache', 30_000, () => inf.get('after', 'shell'));
    t.ok(inf.restarts() > 0, `informer restarted (${inf.restarts()} restarts)`);
  });

  await t.test('events: created with the reporting component, repeats counted', async (t) => {
    const svcRef = { apiVersion: 'v1', kind: 'Service', namespace: 'shell', name: 'web', uid: 'u-1' };
    const rec = createEventRecorder({ client, log, component: 'metallb-controller', instance: 'pod-1' });
    rec.record(svcRef, EventType.Normal, 'IPAllocated', 'Assigned IP ["10.77.0.1"]');
    await rec.flush();
    rec.record(svcRef, EventType.Normal, 'IPAllocated', 'Assigned IP ["10.77.0.1"]');
    rec.record(svcRef, EventType.Warning, 'AllocationFailed', 'Failed to allocate IP for "shell/web": no available IPs');
    await rec.flush();
    rec.record(svcRef, EventType.Normal, 'IPAllocated', 'Assigned IP ["10.77.0.1"]');
    await rec.flush();
    const list = await client.list<{ reason: string; count: number; type: string; source: { component: string }; reportingComponent: string; involvedObject: { name: string } }>(
      '/api/v1/namespaces/shell/events',
    );
    const alloc = list.items.filter((e) => e.reason === 'IPAllocated');
    t.equal(alloc.length, 1, 'one Event object for the repeated event');
    t.equal(alloc[0]?.count, 3, 'counted three times');
    t.match(alloc[0], { type: 'Normal', source: { component: 'metallb-controller' }, reportingComponent: 'metallb-controller', involvedObject: { name: 'web' } });
    t.equal(list.items.filter((e) => e.reason === 'AllocationFailed' && e.type === 'Warning').length, 1);
  });

  await t.test('lease CAS: a stale resourceVersion loses with 409', async (t) => {
    const d = decideLease(undefined, { identity: 'x', leaseDurationSec: 5, nowMs: Date.now(), observedAtMs: Date.now() });
    if (d.action !== 'create') throw new Error(`expected create, got ${d.action}`);
    const created = await createLease(client, 'shell', 'cas', d.spec);
    t.ok(created.ok);
    const again = await createLease(client, 'shell', 'cas', d.spec);
    t.ok(!again.ok && again.conflict, 'second create is a conflict');
    const read = await getLease(client, 'shell', 'cas');
    if (!read) throw new Error('lease missing');
    const first = await updateLease(client, read, { ...read.spec, holderIdentity: 'y' });
    t.ok(first.ok, 'first writer wins');
    const second = await updateLease(client, read, { ...read.spec, holderIdentity: 'z' });
    t.ok(!second.ok && second.conflict, 'second writer with the same resourceVersion loses');
    if (!second.ok) t.ok(isConflict(second.error));
    t.equal((await getLease(client, 'shell', 'cas'))?.spec?.holderIdentity, 'y');
  });

  await t.test('leader election: one leader, release hands over at once, a crash within the lease duration', async (t) => {
    const state: Record<string, string[]> = { a: [], b: [] };
    const mk = (id: 'a' | 'b') =>
      createLeaderElector({
        client,
        namespace: 'shell',
        name: 'ctrl',
        identity: id,
        log,
        leaseDurationSec: 3,
        renewDeadlineSec: 2,
        retryPeriodSec: 0.5,
        onStartedLeading: () => state[id]?.push('start'),
        onStoppedLeading: (r) => state[id]?.push(`stop:${r}`),
      });
    const a = mk('a');
    a.start();
    await until('a leads', 10_000, () => a.isLeader());
    const b = mk('b');
    b.start();
    await new Promise((r) => setTimeout(r, 1500));
    t.notOk(b.isLeader(), 'b stays standby while a renews');
    const t0 = Date.now();
    await a.stop();
    await until('b leads after release', 5_000, () => b.isLeader());
    t.ok(Date.now() - t0 < 2000, `handover after release took ${Date.now() - t0} ms`);
    t.same(state.a, ['start', 'stop:released']);

    const c = mk('a');
    c.start();
    await new Promise((r) => setTimeout(r, 1000));
    t.notOk(c.isLeader(), 'a (restarted) is standby');
    const t1 = Date.now();
    await b.stop({ release: false });
    await until('a takes over after b crashed', 10_000, () => c.isLeader());
    const took = Date.now() - t1;
    t.ok(took >= 2000 && took < 6000, `takeover after a crash took ${took} ms (lease 3 s)`);
    await c.stop();
    const lease = await getLease(client, 'shell', 'ctrl');
    t.equal(lease?.spec?.holderIdentity, '', 'released on stop');
    t.ok((lease?.spec?.leaseTransitions ?? 0) >= 2, 'transitions counted');
  });
});
