// StatusWriter against a real apiserver, for the races of a graceful stop and of quick plan
// changes. Regression: clear() deleted only what the informer listed and did not wait for a pass
// in flight, so a ServiceL2Status created a moment before the stop survived it (seen as a flake
// of test/install/helm-lifecycle.test.ts), and a set() after clear() still created objects. Also
// guarded: quick plan changes never create a Service's object twice (a pass between a create and
// its watch event could; the status write that follows each create has so far always outlasted
// the event, so the writer does not track its own creates).
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { installCrds } from '../fixtures/controller/cluster';
import type { KubeClient } from '../../src/k8s/client';
import { StatusKind, StatusWriter, type StatusBody } from '../../src/speaker/status-objects';
import { silentLogger } from '../../src/util/log';

const NS = 'metallb-system';
const PATH = `/apis/metallb.io/v1beta1/namespaces/${NS}/servicel2statuses`;

/** The real client, counting the requests it sends by method. */
function counting(client: KubeClient): { client: KubeClient; sent: Map<string, number> } {
  const sent = new Map<string, number>();
  const wrapped: KubeClient = {
    kubeConfig: client.kubeConfig,
    host: client.host,
    request: (req) => {
      sent.set(req.method, (sent.get(req.method) ?? 0) + 1);
      return client.request(req);
    },
    list: (path, opts) => client.list(path, opts),
    watch: (path, query, onEvent, onDone) => client.watch(path, query, onEvent, onDone),
    close: () => client.close(),
  };
  return { client: wrapped, sent };
}

const body = (node: string, svc: string, ifName: string): StatusBody => ({ node, serviceName: svc, serviceNamespace: 'demo', interfaces: [{ name: ifName }] });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function objectsOf(client: KubeClient, node: string): Promise<{ name: string; svc: string; ifName?: string }[]> {
  const r = await client.list<{ metadata?: { name?: string; labels?: Record<string, string> }; status?: StatusBody }>(PATH, { labelSelector: `metallb.io/node=${node}` });
  return r.items.map((o) => ({ name: o.metadata?.name ?? '', svc: o.metadata?.labels?.['metallb.io/service-name'] ?? '', ifName: o.status?.interfaces?.[0]?.name }));
}

async function until(what: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await what()) return true;
  return what();
}

t.test('StatusWriter: graceful-stop and create races', async (t) => {
  const cp = await startControlPlane(t);
  const admin = await installCrds(cp);
  t.teardown(() => admin.close());
  const log = silentLogger();

  await t.test('clear() right after set(), with the create in flight, leaves no object', async (t) => {
    for (let round = 0; round < 10; round++) {
      const node = `clear-${round}`;
      const w = new StatusWriter(admin, NS, node, StatusKind.L2, log);
      await w.start();
      w.set(new Map([['demo/web', body(node, 'web', 'eth0')], ['demo/db', body(node, 'db', 'eth0')]]));
      // Let the pass reach its POSTs (or not): every stage of the pass must be covered.
      await sleep(round * 3);
      await w.clear();
      // A plan computed during the handover must not bring an object back.
      w.set(new Map([['demo/web', body(node, 'web', 'eth1')]]));
      await sleep(300);
      await w.stop();
      t.same(await objectsOf(admin, node), [], `round ${round}: no status object of ${node} after clear()`);
    }
  });

  await t.test('clear() before the informer synced still deletes what the apiserver holds', async (t) => {
    const first = new StatusWriter(admin, NS, 'unsynced', StatusKind.L2, log);
    await first.start();
    first.set(new Map([['demo/web', body('unsynced', 'web', 'eth0')]]));
    t.ok(await until(async () => (await objectsOf(admin, 'unsynced')).length === 1), 'the first writer created its object');
    await first.stop();
    // A restarted speaker stopped before its informer listed anything.
    const second = new StatusWriter(admin, NS, 'unsynced', StatusKind.L2, log);
    await second.clear();
    t.same(await objectsOf(admin, 'unsynced'), [], 'clear() listed the apiserver, not the empty cache');
  });

  await t.test('quick changes to one Service create one object', async (t) => {
    const { client, sent } = counting(admin);
    const w = new StatusWriter(client, NS, 'quick', StatusKind.L2, log);
    await w.start();
    t.teardown(() => w.stop());
    // Each set() lands while a pass runs, so the next pass starts the moment the create returns,
    // before its watch event can have arrived.
    for (let i = 0; i < 20; i++) {
      w.set(new Map([['demo/web', body('quick', 'web', `eth${i}`)]]));
      await sleep(5);
    }
    t.ok(await until(async () => (await objectsOf(admin, 'quick')).some((o) => o.ifName === 'eth19')), 'the last status was written');
    await sleep(500);
    t.equal(sent.get('POST') ?? 0, 1, 'one create for one Service');
    t.equal(sent.get('DELETE') ?? 0, 0, 'and no duplicate to delete');
    t.same((await objectsOf(admin, 'quick')).map((o) => [o.svc, o.ifName]), [['web', 'eth19']], 'one object, with the last status');
  });
});
