// A controller restart with 500 assigned Services changes no IP and writes nothing: the new
// process adopts every assignment from Service status before it allocates anything.
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { freePort } from '../harness/free-port';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { silentLogger } from '../../src/util/log';
import { RELEASE_NS, type Svc, applyPool, installCrds, ipOf, lbService, until } from '../fixtures/controller/cluster';

const COUNT = 500;

async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

t.test('restart with 500 assigned services changes no IP', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp);
  t.teardown(() => client.close());
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'many' } } });
  // Two pools so adoption must also get the pool of each Service right.
  await applyPool(client, 'p1', { addresses: ['10.77.20.0/24'] });
  await applyPool(client, 'p2', { addresses: ['10.77.21.0-10.77.22.255'] });

  const start = async () => {
    const port = await freePort();
    const ctrl = await startController(controllerOptionsFrom({ kubeconfig: cp.kubeconfigPath, namespace: RELEASE_NS, port, host: '127.0.0.1', workers: 8 }), silentLogger());
    return { ctrl, url: `http://127.0.0.1:${port}` };
  };
  const first = await start();
  const names = Array.from({ length: COUNT }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(
      names.slice(i, i + 25).map((n, j) =>
        client.request({ method: 'POST', path: '/api/v1/namespaces/many/services', body: lbService('many', n, (i + j) % 3 === 0 ? { annotations: { 'metallb.io/address-pool': 'p2' } } : {}) }),
      ),
    );
  }
  const listAssigned = async () => (await client.list<Svc>('/api/v1/namespaces/many/services')).items;
  const before = await until('all 500 services assigned', 120_000, async () => {
    const items = await listAssigned();
    return items.length === COUNT && items.every((s) => ipOf(s) !== undefined) ? items : undefined;
  });
  const ips = new Set(before.map(ipOf));
  t.equal(ips.size, COUNT, 'no IP handed out twice');
  await first.ctrl.stop();

  const second = await start();
  t.teardown(() => second.ctrl.stop());
  await until('restarted controller ready', 60_000, async () => (await fetch(`${second.url}/readyz`)).status === 200);
  await until('every Service reconciled after the restart', 60_000, async () => (await metricValue(second.url, 'metallb_k8s_client_updates_total')) >= COUNT + 1);
  const after = await listAssigned();
  const byName = new Map(before.map((s) => [s.metadata.name, s]));
  let changedIp = 0;
  let rewritten = 0;
  for (const s of after) {
    const b = byName.get(s.metadata.name);
    if (ipOf(b) !== ipOf(s)) changedIp++;
    if (b?.metadata.resourceVersion !== s.metadata.resourceVersion) rewritten++;
  }
  t.equal(changedIp, 0, 'no IP changed');
  t.equal(rewritten, 0, 'no Service was even rewritten');
  t.equal(await metricValue(second.url, 'metallb_allocator_addresses_in_use_total{pool="p1"}'), before.filter((s) => s.metadata.annotations?.['metallb.io/ip-allocated-from-pool'] === 'p1').length);
});
