// The controller against a real apiserver with the chart's CRDs: Services get IPs from pools
// with status, annotation and Events; pool status counters and metrics; a deleted pool moves or
// clears Services; an invalid config keeps the last good one and says so in ConfigurationState;
// an error outside the pools is reported without stopping allocation; a broken BGPPeer is only a finding.
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { freePort } from '../harness/free-port';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { silentLogger } from '../../src/util/log';
import { RELEASE_NS, applyPool, deletePool, eventsFor, getService, installCrds, ipOf, lbService, until } from '../fixtures/controller/cluster';
import { bgpPeer } from '../fixtures/manifests/metallb-config';

t.test('controller reconciles pools and services', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp);
  t.teardown(() => client.close());
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'apps' } } });
  await applyPool(client, 'main', { addresses: ['10.77.10.0/30'] });
  await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'before') });

  const port = await freePort();
  const opts = controllerOptionsFrom({ kubeconfig: cp.kubeconfigPath, namespace: RELEASE_NS, port, host: '127.0.0.1', podName: '' });
  const ctrl = await startController(opts, silentLogger());
  t.teardown(() => ctrl.stop());
  const url = `http://127.0.0.1:${port}`;
  await until('readyz ok', 30_000, async () => (await fetch(`${url}/readyz`)).status === 200);

  await t.test('services get IPs, the pool annotation and IPAllocated', async (t) => {
    const before = await until('service created before start gets an IP', 30_000, async () => ipOf(await getService(client, 'apps', 'before')));
    t.equal(before, '10.77.10.0', 'first-fit from the pool (network address included, docs/upstream-behaviour.md §10.2)');
    await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'web') });
    const svc = await until('web gets an IP', 30_000, async () => {
      const s = await getService(client, 'apps', 'web');
      return ipOf(s) ? s : undefined;
    });
    t.equal(ipOf(svc), '10.77.10.1');
    t.equal(svc.metadata.annotations?.['metallb.io/ip-allocated-from-pool'], 'main');
    const ev = await until('IPAllocated event', 10_000, async () => (await eventsFor(client, 'apps', 'web')).find((e) => e.reason === 'IPAllocated'));
    t.match(ev, { type: 'Normal', message: 'Assigned IP ["10.77.10.1"]' });
  });

  await t.test('a ClusterIP service is left alone; switching type clears the status', async (t) => {
    await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'flip') });
    await until('flip gets an IP', 30_000, async () => ipOf(await getService(client, 'apps', 'flip')));
    await client.request({
      method: 'PATCH',
      path: '/api/v1/namespaces/apps/services/flip',
      body: { spec: { type: 'ClusterIP' } },
      contentType: 'application/merge-patch+json',
    });
    const s = await until('status cleared', 30_000, async () => {
      const x = await getService(client, 'apps', 'flip');
      return ipOf(x) === undefined && x.metadata.annotations?.['metallb.io/ip-allocated-from-pool'] === undefined ? x : undefined;
    });
    t.equal(s.spec.type, 'ClusterIP');
  });

  await t.test('pool status counters and allocator metrics', async (t) => {
    const pool = await until('pool status shows 2 assigned', 30_000, async () => {
      const p = await client.request<{ status?: { assignedIPv4: number; availableIPv4: number } }>({
        method: 'GET',
        path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/ipaddresspools/main`,
      });
      return p.status?.assignedIPv4 === 2 ? p : undefined;
    });
    t.equal(pool.status?.availableIPv4, 2);
    const text = await (await fetch(`${url}/metrics`)).text();
    t.match(text, /metallb_allocator_addresses_in_use_total\{pool="main"\} 2/);
    t.match(text, /metallb_allocator_addresses_total\{pool="main"\} 4/);
    t.match(text, /metallb_k8s_client_config_loaded_bool 1/);
    t.match(text, /rest_client_requests_total\{code="200",method="PUT"/);
    t.match(text, /workqueue_adds_total\{name="metallb-controller"\}/);
    t.equal((await fetch(`${url}/healthz`)).status, 200);
  });

  await t.test('exhaustion: AllocationFailed with the reason, then an IP once one frees', async (t) => {
    await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'c') });
    await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'd') });
    await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'e') });
    const failed = await until('AllocationFailed on one of them', 30_000, async () => {
      for (const n of ['c', 'd', 'e']) {
        const f = (await eventsFor(client, 'apps', n)).find((e) => e.reason === 'AllocationFailed');
        if (f) return { name: n, ev: f };
      }
      return undefined;
    });
    t.equal(failed.ev.type, 'Warning');
    t.match(failed.ev.message, /^Failed to allocate IP for "apps\/.": no available IPs/);
    await client.request({ method: 'DELETE', path: '/api/v1/namespaces/apps/services/before' });
    const ip = await until('the pending service gets the freed IP', 30_000, async () => ipOf(await getService(client, 'apps', failed.name)));
    t.equal(ip, '10.77.10.0');
  });

  await t.test('a deleted pool moves its services to another pool, with Events', async (t) => {
    // autoAssign false: only the address-pool annotation allocates from it
    // (docs/upstream-behaviour.md §10.4).
    await applyPool(client, 'extra', { addresses: ['10.77.11.0/30'], autoAssign: false });
    await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'pinned', { annotations: { 'metallb.io/address-pool': 'extra' } }) });
    await until('pinned gets an IP from extra', 30_000, async () => ipOf(await getService(client, 'apps', 'pinned'))?.startsWith('10.77.11.'));
    await applyPool(client, 'spare', { addresses: ['10.77.12.0/30'] });
    await deletePool(client, 'main');
    const moved = await until('web moves to spare', 30_000, async () => ipOf(await getService(client, 'apps', 'web'))?.startsWith('10.77.12.') && (await getService(client, 'apps', 'web')));
    t.equal(moved.metadata.annotations?.['metallb.io/ip-allocated-from-pool'], 'spare');
    const evs = await eventsFor(client, 'apps', 'web');
    t.ok(evs.some((e) => e.reason === 'ClearAssignment'), `events: ${evs.map((e) => e.reason).join(',')}`);
    await deletePool(client, 'extra');
    const cleared = await until('pinned is cleared (its pool is gone)', 30_000, async () => {
      const s = await getService(client, 'apps', 'pinned');
      return ipOf(s) === undefined ? s : undefined;
    });
    t.equal(cleared.metadata.annotations?.['metallb.io/ip-allocated-from-pool'], undefined);
    const pe = await until('AllocationFailed on pinned', 10_000, async () => (await eventsFor(client, 'apps', 'pinned')).find((e) => e.reason === 'AllocationFailed'));
    t.match(pe.message, /unknown pool "extra"/);
  });

  await t.test('an invalid config keeps the last good one and sets the ConfigurationState condition', async (t) => {
    const state = await until('ConfigurationState Valid', 30_000, async () => {
      const s = await client.request<{ status?: { result?: string; conditions?: { type: string; status: string; reason: string }[] } }>({
        method: 'GET',
        path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/configurationstates/controller`,
      });
      return s.status?.result === 'Valid' ? s : undefined;
    });
    t.match(state.status?.conditions?.[0], { type: 'poolReconcilerValid', status: 'True', reason: 'Reconciled' });
    // Overlapping pools are a cross-object error: CEL cannot see it, the controller must.
    await applyPool(client, 'overlap', { addresses: ['10.77.12.0/31'] });
    const bad = await until('ConfigurationState Invalid', 30_000, async () => {
      const s = await client.request<{ status?: { result?: string; errorSummary?: string; conditions?: { type: string; status: string; reason: string; message: string }[] } }>({
        method: 'GET',
        path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/configurationstates/controller`,
      });
      return s.status?.result === 'Invalid' ? s : undefined;
    });
    t.match(bad.status?.conditions?.[0], { type: 'poolReconcilerValid', status: 'False', reason: 'ConfigurationError', message: /^configuration error: .*overlap/ });
    t.match(bad.status?.errorSummary, /overlap/);
    const ev = await until('Warning Event on the offending pool', 10_000, async () =>
      (await eventsFor(client, RELEASE_NS, 'overlap')).find((e) => e.reason === 'ConfigurationError') ??
      (await eventsFor(client, RELEASE_NS, 'spare')).find((e) => e.reason === 'ConfigurationError'),
    );
    t.equal(ev.type, 'Warning');
    const text = await (await fetch(`${url}/metrics`)).text();
    t.match(text, /metallb_k8s_client_config_stale_bool 1/);
    // The last good config (pool spare) still allocates.
    await client.request({ method: 'DELETE', path: '/api/v1/namespaces/apps/services/c' }).catch(() => undefined);
    await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'late') });
    const ip = await until('late gets an IP from the last good config', 30_000, async () => ipOf(await getService(client, 'apps', 'late')));
    t.ok(ip.startsWith('10.77.12.'), ip);
    await deletePool(client, 'overlap');
    await until('ConfigurationState Valid again', 30_000, async () => {
      const s = await client.request<{ status?: { result?: string } }>({ method: 'GET', path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/configurationstates/controller` });
      return s.status?.result === 'Valid';
    });
  });

  // Upstream's controller reads only pools, communities and namespaces, so a broken BGPPeer (the
  // speakers' part) never stopped it from allocating. Ours reports the error and goes on.
  // A broken BGPPeer only disables itself (docs/configuration.md "Per-peer findings"): the
  // ConfigurationState stays Valid and names it. An error in an advertisement is still an error.
  await t.test('a broken peer is a finding; an error outside the pools is reported, and new pools still allocate', async (t) => {
    const peersPath = `/apis/metallb.io/v1beta2/namespaces/${RELEASE_NS}/bgppeers`;
    await client.request({
      method: 'POST',
      path: peersPath,
      body: bgpPeer('broken-peer', { passwordSecret: { name: 'nope', namespace: RELEASE_NS }, namespace: null }),
    });
    const named = await until('ConfigurationState naming the disabled peer', 30_000, async () => {
      const s = await client.request<{ status?: { result?: string; conditions?: { message?: string }[] } }>({ method: 'GET', path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/configurationstates/controller` });
      return s.status?.conditions?.[0]?.message?.includes('BGPPeer/broken-peer') ? s : undefined;
    });
    t.equal(named.status?.result, 'Valid', 'a broken peer leaves the configuration valid');
    t.match(named.status?.conditions?.[0]?.message, /BGPPeer\/broken-peer: secret ref not found for peer config .* \(peer disabled\)/);
    // Cross-object, so no CRD rule can refuse it: the aggregation is shorter than the pool's /30.
    const adsPath = `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/bgpadvertisements`;
    await client.request({
      method: 'POST',
      path: adsPath,
      body: { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: { name: 'broken' }, spec: { ipAddressPools: ['spare'], aggregationLength: 28 } },
    });
    const bad = await until('ConfigurationState Invalid for the advertisement', 30_000, async () => {
      const s = await client.request<{ status?: { result?: string; errorSummary?: string } }>({ method: 'GET', path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/configurationstates/controller` });
      return s.status?.result === 'Invalid' ? s : undefined;
    });
    t.match(bad.status?.errorSummary, /BGPAdvertisement\/broken: invalid aggregation length 28/);
    const ev = await until('Warning Event on the peer', 10_000, async () => (await eventsFor(client, RELEASE_NS, 'broken')).find((e) => e.reason === 'ConfigurationError'));
    t.match(ev.message, /IP allocation goes on: the IPAddressPools are valid/);
    // A pool added while the peer is broken is in force at once.
    await applyPool(client, 'fresh', { addresses: ['10.77.13.0/30'], autoAssign: false });
    await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'fresh-svc', { annotations: { 'metallb.io/address-pool': 'fresh' } }) });
    const ip = await until('fresh-svc gets an IP from the new pool', 30_000, async () => ipOf(await getService(client, 'apps', 'fresh-svc')));
    t.equal(ip, '10.77.13.0');
    t.match(await (await fetch(`${url}/metrics`)).text(), /metallb_k8s_client_config_stale_bool 0/, 'the pools are not stale');
    await client.request({ method: 'DELETE', path: `${adsPath}/broken` });
    await client.request({ method: 'DELETE', path: `${peersPath}/broken-peer` });
    await until('ConfigurationState Valid again', 30_000, async () => {
      const s = await client.request<{ status?: { result?: string } }>({ method: 'GET', path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/configurationstates/controller` });
      return s.status?.result === 'Valid';
    });
  });
});
