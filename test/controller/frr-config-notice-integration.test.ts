// frr-k8s FRRConfiguration objects do not apply here: with frr-k8s' CRD installed (a minimal
// equivalent of config/crd/bases/frrk8s.metallb.io_frrconfigurations.yaml in metallb/frr-k8s:
// same group, version, names and scope), the controller records one Warning Event on each
// object, existing before it started or created later. Without the CRD nothing is watched.
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { freePort } from '../harness/free-port';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { silentLogger } from '../../src/util/log';
import { RELEASE_NS, eventsFor, installCrds, until } from '../fixtures/controller/cluster';
import { FRR_CONFIGURATION_REASON, frrConfigurationCrdExists } from '../../src/controller/frr-config-notice';

const FRR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'frrconfigurations.frrk8s.metallb.io' },
  spec: {
    group: 'frrk8s.metallb.io',
    names: { kind: 'FRRConfiguration', listKind: 'FRRConfigurationList', plural: 'frrconfigurations', singular: 'frrconfiguration' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

function frrConfiguration(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'frrk8s.metallb.io/v1beta1',
    kind: 'FRRConfiguration',
    metadata: { name, namespace },
    spec: { bgp: { routers: [{ asn: 64512, neighbors: [{ address: '172.30.0.3', asn: 4200000000, toReceive: { allowed: { mode: 'all' } } }] }] } },
  };
}

t.test('FRRConfiguration objects get a Warning Event: they do not apply', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp);
  t.teardown(() => client.close());
  t.equal(await frrConfigurationCrdExists(client), false, 'without the CRD: nothing to watch');

  await client.request({ method: 'POST', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body: FRR_CRD });
  const w = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/frrconfigurations.frrk8s.metallb.io']);
  t.equal(w.code, 0, `CRD established: ${w.stderr}`);
  await until('discovery lists frrconfigurations', 30_000, async () => frrConfigurationCrdExists(client));
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'frr-k8s-system' } } });
  const collection = (ns: string): string => `/apis/frrk8s.metallb.io/v1beta1/namespaces/${ns}/frrconfigurations`;
  await client.request({ method: 'POST', path: collection('frr-k8s-system'), body: frrConfiguration('frr-k8s-system', 'extra-neighbor') });

  const port = await freePort();
  const opts = controllerOptionsFrom({ kubeconfig: cp.kubeconfigPath, namespace: RELEASE_NS, port, host: '127.0.0.1', podName: '' });
  const ctrl = await startController(opts, silentLogger());
  t.teardown(() => ctrl.stop());

  const before = await until('Warning Event on the object that existed at start', 30_000, async () =>
    (await eventsFor(client, 'frr-k8s-system', 'extra-neighbor')).find((e) => e.reason === FRR_CONFIGURATION_REASON),
  );
  t.equal(before.type, 'Warning');
  t.match(before.message, 'FRRConfiguration "frr-k8s-system/extra-neighbor" does not apply: metallb-ts runs no FRR or frr-k8s');

  await client.request({ method: 'POST', path: collection(RELEASE_NS), body: frrConfiguration(RELEASE_NS, 'later') });
  const later = await until('Warning Event on an object created after start (watch)', 30_000, async () =>
    (await eventsFor(client, RELEASE_NS, 'later')).find((e) => e.reason === FRR_CONFIGURATION_REASON),
  );
  t.equal(later.type, 'Warning');
  // Once per object: an update does not add a second Event or raise the count.
  await client.request({
    method: 'PATCH',
    path: `${collection(RELEASE_NS)}/later`,
    body: { metadata: { labels: { touched: 'yes' } } },
    contentType: 'application/merge-patch+json',
  });
  await client.request({ method: 'POST', path: collection(RELEASE_NS), body: frrConfiguration(RELEASE_NS, 'marker') });
  await until('the marker object is reported (so the update before it was seen)', 30_000, async () =>
    (await eventsFor(client, RELEASE_NS, 'marker')).find((e) => e.reason === FRR_CONFIGURATION_REASON),
  );
  const again = (await eventsFor(client, RELEASE_NS, 'later')).filter((e) => e.reason === FRR_CONFIGURATION_REASON);
  t.equal(again.length, 1, 'one Event');
  t.equal(again[0]?.count, 1, 'not repeated');
});
