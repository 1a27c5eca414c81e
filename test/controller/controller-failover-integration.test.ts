// Leader failover between two controller processes (`--leader-elect`): one leads, the standby
// allocates nothing; after the leader is killed (SIGKILL, no release) the standby takes the
// Lease and serves new Services within 10 s; no IP is handed out twice and none changes.
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { startControlPlane } from '../harness/apiserver';
import { onProcessExit } from '../harness/cleanup';
import { RELEASE_NS, type Svc, applyPool, installCrds, ipOf, lbService, spawnController, until } from '../fixtures/controller/cluster';
import { getLease } from '../../src/k8s/lease';

t.test('leader failover between two controller processes', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp);
  t.teardown(() => client.close());
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'ha' } } });
  await applyPool(client, 'pool', { addresses: ['10.77.30.0/26'] });

  const procs: ChildProcess[] = [];
  const unregister = onProcessExit(() => procs.forEach((p) => p.kill('SIGKILL')));
  t.teardown(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    unregister();
  });
  const a = spawnController(cp.kubeconfigPath, ['--leader-elect', '--pod-name=ctrl-a', '--port=0']);
  procs.push(a.proc);
  const holder = async () => (await getLease(client, RELEASE_NS, 'metallb-controller'))?.spec?.holderIdentity ?? '';
  await until('ctrl-a holds the lease', 60_000, async () => (await holder()) === 'ctrl-a').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${a.lines.slice(-20).join('\n')}`);
  });
  const b = spawnController(cp.kubeconfigPath, ['--leader-elect', '--pod-name=ctrl-b', '--port=0']);
  procs.push(b.proc);
  await until('ctrl-b is up as standby', 60_000, () => b.lines.some((l) => l.includes('"controllerStarting"')));

  for (let i = 0; i < 20; i++) await client.request({ method: 'POST', path: '/api/v1/namespaces/ha/services', body: lbService('ha', `s${i}`) });
  const list = async () => (await client.list<Svc>('/api/v1/namespaces/ha/services')).items;
  const before = await until('20 services assigned by the leader', 60_000, async () => {
    const items = await list();
    return items.length === 20 && items.every((s) => ipOf(s)) ? items : undefined;
  });
  t.equal(await holder(), 'ctrl-a', 'a still leads');
  t.notOk(b.lines.some((l) => l.includes('"startedLeading"')), 'the standby never led');

  const killedAt = Date.now();
  a.proc.kill('SIGKILL');
  await client.request({ method: 'POST', path: '/api/v1/namespaces/ha/services', body: lbService('ha', 'after-failover') });
  const newIp = await until('the standby serves a new Service', 20_000, async () => ipOf((await list()).find((s) => s.metadata.name === 'after-failover')));
  const tookSec = (Date.now() - killedAt) / 1000;
  t.ok(tookSec <= 10, `standby took over and allocated within 10 s (${tookSec.toFixed(1)} s)`);
  t.equal(await holder(), 'ctrl-b', 'b holds the lease');

  const after = await list();
  const ips = after.map(ipOf);
  t.equal(new Set(ips).size, after.length, 'no double allocation');
  const changed = before.filter((s) => ipOf(after.find((x) => x.metadata.name === s.metadata.name)) !== ipOf(s));
  t.same(changed.map((s) => s.metadata.name), [], 'no IP changed in the failover');
  t.notOk(before.map(ipOf).includes(newIp), 'the new IP is a free one');

  // Graceful handover: SIGTERM makes the leader finish its writes and release the Lease, so a
  // standby takes over within a retry period instead of waiting for expiry.
  const c = spawnController(cp.kubeconfigPath, ['--leader-elect', '--pod-name=ctrl-c', '--port=0']);
  procs.push(c.proc);
  await until('ctrl-c is up as standby', 60_000, () => c.lines.some((l) => l.includes('"controllerStarting"')));
  await until('ctrl-c has synced', 60_000, () => c.lines.some((l) => l.includes('"informersSynced"')));
  const termAt = Date.now();
  b.proc.kill('SIGTERM');
  await until('ctrl-c holds the lease', 20_000, async () => (await holder()) === 'ctrl-c');
  const handoverSec = (Date.now() - termAt) / 1000;
  t.ok(handoverSec < 5, `handover after SIGTERM took ${handoverSec.toFixed(1)} s`);
  await until('ctrl-b exited cleanly', 20_000, () => b.proc.exitCode !== null);
  t.equal(b.proc.exitCode, 0, 'a stopped leader exits 0');
  await client.request({ method: 'POST', path: '/api/v1/namespaces/ha/services', body: lbService('ha', 'after-handover') });
  await until('ctrl-c serves a new Service', 20_000, async () => ipOf((await list()).find((s) => s.metadata.name === 'after-handover')));
  const final = await list();
  t.equal(new Set(final.map(ipOf)).size, final.length, 'still no double allocation');
});
