// src/k8s/informer.ts against a scripted client: the list/watch cache keeps client-go's reflector
// semantics (relist on 410 Gone, resume from the last resourceVersion after an error).
import t from 'tap';
import { ApiError, type KubeClient, type ListOptions, type ListResult, type WatchEvent } from '../../src/k8s/client';
import { createInformer, type InformerEvent, type KubeObject } from '../../src/k8s/informer';
import { silentLogger } from '../../src/util/log';

interface OpenWatch {
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly send: (ev: WatchEvent) => void;
  readonly end: (err?: ApiError) => void;
}

/** A client whose list answers come from `lists` in order and whose watches the test drives. */
function scripted(lists: ListResult<KubeObject>[]): { client: KubeClient; watches: OpenWatch[]; listCalls: () => number } {
  const watches: OpenWatch[] = [];
  let listCalls = 0;
  const client: KubeClient = {
    kubeConfig: undefined as never,
    host: 'scripted',
    request: () => Promise.reject(new Error('not modelled')),
    list: <T>(_path: string, opts?: ListOptions<T>) => {
      const next = lists[listCalls++] as ListResult<T> | undefined;
      if (!next) return Promise.reject(new Error('no more lists scripted'));
      // As the real client: the transform applies page by page.
      const transform = opts?.transform;
      return Promise.resolve(transform ? { ...next, items: next.items.map((i) => transform(i)) } : next);
    },
    watch: (_path, query, onEvent, onDone) => {
      watches.push({ query, send: onEvent, end: onDone });
      return { abort: () => undefined };
    },
    close: () => undefined,
  };
  return { client, watches, listCalls: () => listCalls };
}

const obj = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await flush();
  }
}

t.test('list, watch from its resourceVersion, apply events, relist on 410 with deletes', async (t) => {
  const { client, watches, listCalls } = scripted([
    { resourceVersion: '10', items: [obj('a', '1'), obj('b', '2')] },
    { resourceVersion: '30', items: [obj('a', '1'), obj('c', '25')] },
  ]);
  const seen: string[] = [];
  const inf = createInformer<KubeObject>({
    client,
    path: '/api/v1/services',
    log: silentLogger(),
    transform: (o) => ({ ...o, metadata: { ...o.metadata, labels: { projected: 'yes' } } }),
    onEvent: (ev: InformerEvent, o) => seen.push(`${ev}:${o.metadata?.name}`),
  });
  await inf.start();
  t.ok(inf.hasSynced());
  t.same(seen, ['add:a', 'add:b']);
  t.equal(watches[0]?.query.resourceVersion, '10', 'the watch starts at the list resourceVersion');
  t.same(inf.get('a', 'ns')?.metadata?.labels, { projected: 'yes' }, 'listed objects are transformed');

  watches[0]?.send({ type: 'MODIFIED', object: obj('b', '12') });
  watches[0]?.send({ type: 'ADDED', object: obj('d', '13') });
  watches[0]?.send({ type: 'DELETED', object: obj('a', '14') });
  t.same(seen.slice(2), ['update:b', 'add:d', 'delete:a']);
  t.same(inf.get('d', 'ns')?.metadata?.labels, { projected: 'yes' }, 'watched objects are transformed');
  t.same(inf.list().map((o) => o.metadata?.name).sort(), ['b', 'd']);

  // The apiserver answers a too-old resourceVersion with an ERROR 410 event, then ends the stream.
  watches[0]?.send({ type: 'ERROR', object: { code: 410 } });
  watches[0]?.end();
  await until('the relist and its watch', () => watches.length === 2);
  t.equal(listCalls(), 2);
  t.same(seen.slice(5).sort(), ['add:a', 'add:c', 'delete:b', 'delete:d'], 'the relist deletes what it lacks');
  t.equal(watches[1]?.query.resourceVersion, '30');
  await inf.stop();
});

t.test('a watch that fails restarts with backoff from the last resourceVersion, without a relist', async (t) => {
  const { client, watches, listCalls } = scripted([{ resourceVersion: '5', items: [obj('a', '5')] }]);
  let restarted = 0;
  const errors: unknown[] = [];
  const inf = createInformer<KubeObject>({
    client,
    path: '/api/v1/services',
    log: silentLogger(),
    backoff: { baseMs: 1, maxMs: 1, jitter: 0 },
    onRestart: () => restarted++,
    onError: (err) => errors.push(err),
  });
  await inf.start();
  watches[0]?.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } });
  watches[0]?.end(new ApiError('GET', '/api/v1/services', 0, 'ConnectionError', 'reset'));
  await until('the restarted watch', () => watches.length === 2 && restarted === 1);
  t.equal(errors.length, 1);
  t.equal(listCalls(), 1, 'no relist');
  t.equal(watches[1]?.query.resourceVersion, '9', 'resumes from the bookmark');
  t.equal(inf.restarts(), 1);
  t.equal(inf.get('a', 'ns')?.metadata?.resourceVersion, '5');
  // The apiserver's watch timeout ends a stream cleanly: a re-watch, not a restart.
  watches[1]?.end();
  await until('the re-watch', () => watches.length === 3);
  t.equal(restarted, 1, 'a routine re-watch resyncs nothing');
  t.equal(inf.restarts(), 1);
  await inf.stop();
});

t.test('a failed first list is retried; the informer syncs when it succeeds', async (t) => {
  const lists: ListResult<KubeObject>[] = [];
  const { client, watches } = scripted(lists);
  const inf = createInformer<KubeObject>({ client, path: '/api/v1/services', log: silentLogger(), backoff: { baseMs: 1, maxMs: 1, jitter: 0 } });
  await inf.start();
  t.notOk(inf.hasSynced(), 'not synced after a failed list');
  lists.push({ resourceVersion: '1', items: [obj('a', '1')] }, { resourceVersion: '1', items: [obj('a', '1')] });
  await until('sync after the retry', () => inf.hasSynced() && watches.length === 1);
  t.equal(inf.list('ns').length, 1);
  await inf.stop();
});
