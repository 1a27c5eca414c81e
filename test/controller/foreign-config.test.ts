// CRs created outside the release namespace are ignored with a clear log line
// (docs/upstream-behaviour.md §10.23).
// Against a real apiserver: a pool in namespace `default` (and an L2Advertisement in `team-a`)
// never enters the configuration (the Service gets its IP from the release namespace's pool),
// and the controller says so once per object: a warning naming the object and the namespace it
// should be in, and a Warning Event on the object itself.
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane } from '../harness/apiserver';
import { installCrds } from '../fixtures/controller/cluster';
import { l2Advertisement, pool, toYaml } from '../fixtures/manifests/metallb-config';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { FOREIGN_CONFIG_REASON, clusterWidePath, foreignConfigMessage } from '../../src/controller/foreign-config';
import { createRootLogger } from '../../src/util/log';

const NS = 'metallb-system';

t.test('pure parts', async (t) => {
  t.equal(clusterWidePath('/apis/metallb.io/v1beta1/namespaces/{ns}/ipaddresspools'), '/apis/metallb.io/v1beta1/ipaddresspools');
  t.equal(
    foreignConfigMessage('IPAddressPool', 'default', 'lan', NS),
    'IPAddressPool "default/lan" is ignored: metallb-ts reads its configuration only from namespace "metallb-system"; create it there',
  );
});

t.test('config outside the release namespace: ignored, logged once, Event on the object', async (t) => {
  const cp = await startControlPlane(t);
  const crdClient = await installCrds(cp);
  t.teardown(() => crdClient.close());
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
  const applied = await cp.kubectl(['apply', '-f', '-'], {
    input: toYaml([
      pool('good', ['192.0.2.10/32'], { namespace: NS }),
      pool('lan', ['198.51.100.0/24'], { namespace: 'default' }),
      l2Advertisement('everything', { namespace: 'team-a' }),
    ]),
  });
  t.equal(applied.code, 0, `config applied: ${applied.stderr}`);

  const lines: Record<string, unknown>[] = [];
  const sink = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
  const log = createRootLogger('info', sink);
  const handle = await startController(controllerOptionsFrom({ kubeconfig: cp.kubeconfigPath, namespace: NS, port: 0 }), log);
  t.teardown(() => handle.stop());

  await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } } });
  const until = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const ip = await until('ingress', async () => (await core.readNamespacedService({ name: 'web', namespace: 'default' })).status?.loadBalancer?.ingress?.[0]?.ip);
  t.equal(ip, '192.0.2.10', 'the Service got its IP from the release namespace pool, not from default/lan');

  const warned = await until('both warnings', async () => {
    const w = lines.filter((l) => l['event'] === 'configOutsideNamespace');
    return w.length >= 2 ? w : undefined;
  });
  const msgs = warned.map((w) => String(w['msg'])).sort();
  t.same(msgs, [foreignConfigMessage('IPAddressPool', 'default', 'lan', NS), foreignConfigMessage('L2Advertisement', 'team-a', 'everything', NS)], 'one clear line per ignored object');
  t.same(
    warned.map((w) => w['level']),
    [40, 40],
    'logged as warnings',
  );
  t.notOk(lines.some((l) => l['event'] === 'configOutsideNamespace' && l['name'] === 'good'), 'nothing said about the object in the release namespace');

  const ev = await until('Event on default/lan', async () => {
    const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=IPAddressPool,involvedObject.name=lan' });
    return list.items[0];
  });
  t.equal(ev.type, 'Warning');
  t.equal(ev.reason, FOREIGN_CONFIG_REASON);
  t.match(ev.message ?? '', /namespace "metallb-system"/);

  // An edit does not repeat the warning; the pool is still ignored.
  await cp.kubectl(['label', '-n', 'default', 'ipaddresspool', 'lan', 'edited=yes']);
  await new Promise((r) => setTimeout(r, 1_000));
  t.equal(lines.filter((l) => l['event'] === 'configOutsideNamespace').length, 2, 'an update of an already reported object is not reported again');
});
