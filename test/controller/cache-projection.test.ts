import t from 'tap';
import { configProjection, metadataOnly, projectService, withoutManagedFields } from '../../src/controller/cache-projection';
import { reconcileService } from '../../src/controller/service-reconcile';
import { Allocator } from '../../src/controller/allocator/allocator';
import { parseConfig } from '../../src/config/parse';
import { CONFIG_SOURCES } from '../../src/k8s/config-sources';
import type { ServiceObject } from '../../src/controller/controller-loop';
import { pool } from '../fixtures/manifests/metallb-config';

const managedFields = [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:ports': {} } } }];

/** A Service as the apiserver returns it, with fields the controller never reads. */
function fullService(): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'demo',
      uid: 'u-1',
      resourceVersion: '42',
      labels: { app: 'web' },
      annotations: { 'metallb.io/address-pool': 'a' },
      creationTimestamp: '2026-01-01T00:00:00Z',
      finalizers: ['service.kubernetes.io/load-balancer-cleanup'],
      managedFields,
    } as ServiceObject['metadata'],
    spec: {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ protocol: 'TCP', port: 80 }],
      externalTrafficPolicy: 'Cluster',
      selector: { app: 'web' },
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      allocateLoadBalancerNodePorts: false,
    } as ServiceObject['spec'],
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] }, conditions: [] },
  };
}

t.test('a Service keeps all metadata but managedFields, the read spec fields and its status', async (t) => {
  const full = fullService();
  const p = projectService(full);
  const { managedFields: _m, ...meta } = full.metadata as Record<string, unknown>;
  void _m;
  t.same(p.metadata, meta, 'finalizers, labels and annotations go back with a status UPDATE');
  t.same(p.spec, { type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', ports: [{ protocol: 'TCP', port: 80 }], externalTrafficPolicy: 'Cluster', selector: { app: 'web' } });
  t.same(p.status, full.status);
  t.same(full.metadata, { ...meta, managedFields }, 'the input is not modified');
});

t.test('reconcile decides the same on the projection as on the full object', async (t) => {
  const config = parseConfig({ pools: [pool('a', ['192.0.2.0/28'])] });
  if (!config.ok) throw new Error('fixture config invalid');
  const run = (svc: ServiceObject): unknown => {
    const alloc = new Allocator();
    alloc.setPools(config.config.pools, config.config.poolIndex);
    return reconcileService(alloc, { key: 'demo/web', service: svc, loadBalancerClass: '', configLoaded: true });
  };
  t.same(run(projectService(fullService())), run(fullService()));
});

t.test('configuration objects lose managedFields; Nodes and Namespaces keep only metadata', async (t) => {
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { zone: 'a' }, managedFields }, status: { images: [{ names: ['x'] }] } };
  t.same(metadataOnly(node), { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { zone: 'a' } } });
  const p = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'a', managedFields }, spec: { addresses: ['192.0.2.0/28'] } };
  t.same(withoutManagedFields(p), { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'a' }, spec: { addresses: ['192.0.2.0/28'] } });
  const noFields = { metadata: { name: 'b' } };
  t.equal(withoutManagedFields(noFields), noFields, 'nothing to drop: the same object');
  const bySource = Object.fromEntries(CONFIG_SOURCES.map((s) => [s.field, configProjection(s)]));
  t.equal(bySource['nodes'], metadataOnly);
  t.equal(bySource['namespaces'], metadataOnly);
  t.equal(bySource['pools'], withoutManagedFields);
  t.equal(bySource['secrets'], withoutManagedFields, 'Secret data is read (BGP passwords)');
});
