// Service*Status objects are owned by the speaker Pod that wrote them
// (docs/upstream-behaviour.md §4.6), so Kubernetes deletes them with the Pod; without a Pod (a
// speaker run outside a cluster) they are written without an owner. Against a real apiserver with
// the chart's CRDs, right after they are established: the writers' first list may fail while the
// CRD is not served yet, and the status must still be written once they sync (regression: a set()
// before sync was lost).
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane } from '../harness/apiserver';
import { installCrds } from '../fixtures/controller/cluster';
import { podOwner, podOwnerSource } from '../../src/k8s/pod-owner';
import { createKubeClient } from '../../src/k8s/client';
import { StatusKind, StatusWriter } from '../../src/speaker/status-objects';
import { silentLogger } from '../../src/util/log';

const NS = 'metallb-system';

interface Listed {
  items: { metadata?: { ownerReferences?: { kind?: string; name?: string; uid?: string }[] }; status?: { node?: string } }[];
}

t.test('status objects carry an ownerReference to the speaker Pod', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp);
  t.teardown(() => client.close());
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  // No controller-manager here to create the namespace's default ServiceAccount, which Pod
  // admission requires.
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'default' } } });
  const pod = await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'speaker-abcde' }, spec: { containers: [{ name: 'speaker', image: 'metallb-ts' }] } } });
  const log = silentLogger();

  const owned = new StatusWriter(client, NS, 'node1', StatusKind.L2, log, () => podOwner(client, NS, 'speaker-abcde', log));
  const orphan = new StatusWriter(client, NS, 'node2', StatusKind.L2, log, () => podOwner(client, NS, 'no-such-pod', log));
  await owned.start();
  await orphan.start();
  t.teardown(async () => {
    await owned.stop();
    await orphan.stop();
  });
  owned.set(new Map([['demo/web', { node: 'node1', serviceName: 'web', serviceNamespace: 'demo', interfaces: [] }]]));
  orphan.set(new Map([['demo/web', { node: 'node2', serviceName: 'web', serviceNamespace: 'demo', interfaces: [] }]]));

  const byNode = async (): Promise<Map<string, Listed['items'][number]>> => {
    const r = await client.request<Listed>({ method: 'GET', path: `/apis/metallb.io/v1beta1/namespaces/${NS}/servicel2statuses` });
    return new Map(r.items.filter((i) => i.status?.node).map((i) => [i.status!.node!, i]));
  };
  const deadline = Date.now() + 20_000;
  let objs = await byNode();
  while (objs.size < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    objs = await byNode();
  }
  t.same(
    objs.get('node1')?.metadata?.ownerReferences?.map((o) => ({ kind: o.kind, name: o.name, uid: o.uid })),
    [{ kind: 'Pod', name: 'speaker-abcde', uid: pod.metadata?.uid }],
    'the object written by the speaker in Pod speaker-abcde is owned by that Pod',
  );
  t.ok(objs.has('node2'), 'a speaker whose Pod cannot be read still writes its status object');
  t.same(objs.get('node2')?.metadata?.ownerReferences ?? [], [], '... without an owner');

  // A failed lookup (here 403: the ServiceAccount may not read Pods yet) is not remembered: once
  // the request can succeed, objects get their owner. A 404 is an answer and is remembered.
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'late-rbac' } } });
  const sa = await cp.clientFor(NS, 'late-rbac');
  const saClient = createKubeClient(sa.kubeConfig);
  t.teardown(() => saClient.close());
  const source = podOwnerSource(saClient, NS, 'speaker-abcde', log).get;
  t.equal(await source(), undefined, 'no owner while the Pod cannot be read (403)');
  const rbac = cp.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace: NS, body: { metadata: { name: 'read-pods' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } });
  await rbac.createNamespacedRoleBinding({
    namespace: NS,
    body: { metadata: { name: 'read-pods' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-pods' }, subjects: [{ kind: 'ServiceAccount', name: 'late-rbac', namespace: NS }] },
  });
  let later = await source();
  for (const until = Date.now() + 10_000; later === undefined && Date.now() < until; later = await source()) await new Promise((r) => setTimeout(r, 100));
  t.same(later, { name: 'speaker-abcde', uid: pod.metadata?.uid }, 'the owner is found once the lookup succeeds');
  const missing = podOwnerSource(client, NS, 'no-such-pod', log).get;
  t.equal(await missing(), undefined, 'no such Pod: no owner');
  await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'no-such-pod' }, spec: { containers: [{ name: 'speaker', image: 'metallb-ts' }] } } });
  t.equal(await missing(), undefined, '... and that answer is kept (a Pod never appears under a running process)');
});
