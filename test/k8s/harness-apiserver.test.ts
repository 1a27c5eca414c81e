// Self-test of the real control plane harness (docs/architecture.md §8): CRD + custom object, a
// LoadBalancer Service whose status subresource is patched and observed through a client-node
// informer, and ServiceAccount credentials that RBAC actually restricts.
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane } from '../harness/apiserver';

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

t.test('real kube-apiserver + etcd', async (t) => {
  const cp = await startControlPlane(t);
  t.comment(`control plane ready in ${cp.startupMs} ms`);
  const kc = cp.kubeConfig;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);

  await t.test('a CRD and a custom object', async (t) => {
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: 'widgets.example.test' },
        spec: {
          group: 'example.test',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } } } } },
            },
          ],
        },
      },
    });
    await until('CRD Established', 30_000, async () => {
      const crd = await ext.readCustomResourceDefinition({ name: 'widgets.example.test' });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
    await until('custom object created', 30_000, () =>
      custom.createNamespacedCustomObject({ group: 'example.test', version: 'v1', namespace: 'default', plural: 'widgets', body: { apiVersion: 'example.test/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } } }),
    );
    const got = (await custom.getNamespacedCustomObject({ group: 'example.test', version: 'v1', namespace: 'default', plural: 'widgets', name: 'w1' })) as { spec: { size: number } };
    t.equal(got.spec.size, 3);
    await t.rejects(
      custom.createNamespacedCustomObject({ group: 'example.test', version: 'v1', namespace: 'default', plural: 'widgets', body: { apiVersion: 'example.test/v1', kind: 'Widget', metadata: { name: 'w2' }, spec: { size: 0 } } }),
      'schema validation is enforced by the server',
    );
  });

  await t.test('LoadBalancer Service status patched and seen by an informer', async (t) => {
    const seen: string[] = [];
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/services', () => core.listNamespacedService({ namespace: 'default' }));
    informer.on('update', (svc: k8s.V1Service) => {
      const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
      if (ip) seen.push(ip);
    });
    await informer.start();
    t.teardown(() => informer.stop());
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] } },
    });
    await core.patchNamespacedServiceStatus(
      { name: 'web', namespace: 'default', body: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await until('informer sees the ingress IP', 10_000, () => (seen.includes('192.0.2.10') ? true : undefined));
    t.pass('informer observed status.loadBalancer.ingress');
  });

  await t.test('ServiceAccount credentials are subject to RBAC', async (t) => {
    const { kubeConfig: saKc } = await cp.clientFor('metallb-system', 'probe');
    const saCore = saKc.makeApiClient(k8s.CoreV1Api);
    await t.rejects(saCore.listNamespacedSecret({ namespace: 'metallb-system' }), /403|forbidden/i, 'no permission before a Role exists');
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: 'metallb-system', body: { metadata: { name: 'read-secrets' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: 'metallb-system',
      body: { metadata: { name: 'read-secrets' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-secrets' }, subjects: [{ kind: 'ServiceAccount', name: 'probe', namespace: 'metallb-system' }] },
    });
    await until('RBAC grant takes effect', 10_000, async () => ((await saCore.listNamespacedSecret({ namespace: 'metallb-system' })) ? true : undefined));
    t.pass('allowed after the RoleBinding');
  });

  await t.test('kubectl and helm run against it', async (t) => {
    const v = await cp.kubectl(['version', '-o', 'json']);
    t.equal(v.code, 0, v.stderr);
    t.match(JSON.parse(v.stdout), { serverVersion: { gitVersion: 'v1.34.4' } });
    const h = await cp.helm(['version', '--short']);
    t.equal(h.code, 0, h.stderr);
    t.match(h.stdout, /^v4\./);
  });

  await t.test('apiserver restarts in place (for outage tests)', async (t) => {
    await cp.stopApiserver();
    await t.rejects(core.readNamespacedService({ name: 'web', namespace: 'default' }));
    await cp.startApiserver();
    const svc = await core.readNamespacedService({ name: 'web', namespace: 'default' });
    t.equal(svc.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.10', 'data survived in etcd');
  });
});
