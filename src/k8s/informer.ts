/**
 * An informer that stays up: client-node's `makeInformer` (list, then watch from the list's
 * resourceVersion, relist on 410 Gone) wrapped so that the errors which make client-node's
 * ListWatch stop for good (a failed list, a watch that ends with an error, an apiserver restart)
 * restart it with exponential backoff (docs/architecture.md §3). A restart resumes the watch from
 * the last resourceVersion it saw, so a short outage costs no relist.
 *
 * Handlers are level-triggered by convention: they should only enqueue a key; workers read the
 * latest object back through `get()`.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { type BackoffPolicy, backoffDelayMs } from './backoff';
import type { KubeClient } from './client';

/** The minimum every watched object has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
}

/** What a handler is told. `delete` carries the last known state. */
export type InformerEvent = 'add' | 'update' | 'delete';

/** Options of {@link createInformer}. */
export interface InformerOptions<T> {
  readonly client: KubeClient;
  /** Collection path, e.g. `/api/v1/services` or `/apis/metallb.io/v1beta1/namespaces/x/ipaddresspools`. */
  readonly path: string;
  readonly log: Logger;
  readonly labelSelector?: string;
  readonly backoff?: BackoffPolicy;
  /**
   * Applied to every object from the list and the watch before it is cached or handed to
   * `onEvent`: a projection to the fields the owner reads keeps the cache small (client-go's
   * `TransformFunc`, set by upstream's controller to strip managedFields).
   */
  readonly transform?: (obj: T) => T;
  /** Called for every change the cache applies. */
  readonly onEvent?: (event: InformerEvent, obj: T) => void;
  /** Called after every successful (re)start, e.g. to resync dependants after an outage. */
  readonly onRestart?: () => void;
  /** Called on every error before the restart is scheduled (for metrics). */
  readonly onError?: (err: unknown) => void;
}

/** A running informer: a cache plus sync state. */
export interface Informer<T> {
  /** Start listing and watching; resolves after the first start attempt (synced or not). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True once the first list has been applied to the cache (stays true, like client-go). */
  hasSynced(): boolean;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** Number of restarts after errors, for tests and logs. */
  restarts(): number;
}

const INFORMER_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 30_000, jitter: 0.3 };

/** Build an informer; nothing happens until `start()`. */
export function createInformer<T extends KubeObject>(opts: InformerOptions<T>): Informer<T> {
  const log = opts.log.child({ informer: opts.path });
  const transform = opts.transform;
  const listFn = async (): Promise<k8s.KubernetesListObject<T>> => {
    const res = await opts.client.list<T>(opts.path, {
      ...(opts.labelSelector === undefined ? {} : { labelSelector: opts.labelSelector }),
      ...(transform ? { transform } : {}),
    });
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: res.resourceVersion }, items: res.items };
  };
  // client-node's makeInformer with the watch callback wrapped, so that a transform applies to
  // watched objects before ListWatch caches them (ERROR and BOOKMARK carry no object to keep).
  const watch = new k8s.Watch(opts.client.kubeConfig);
  const watcher = transform
    ? {
        watch: (path: string, query: Record<string, string | number | boolean | undefined>, cb: (phase: string, obj: unknown, raw?: unknown) => void, done: (err: unknown) => void) =>
          watch.watch(path, query, (phase, obj: unknown, raw) => cb(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : transform(obj as T), raw), done),
      }
    : watch;
  const inner = new k8s.ListWatch<T & k8s.KubernetesObject>(opts.path, watcher as k8s.Watch, listFn as never, false, opts.labelSelector);
  let synced = false;
  let stopped = true;
  let attempt = 0;
  let restartCount = 0;
  let erroredThisRun = false;
  let timer: NodeJS.Timeout | undefined;
  let starting: Promise<void> | undefined;

  if (opts.onEvent) {
    const on = opts.onEvent;
    inner.on('add', (o) => on('add', o));
    inner.on('update', (o) => on('update', o));
    inner.on('delete', (o) => on('delete', o));
  }

  const schedule = (): void => {
    if (stopped || timer) return;
    const delay = backoffDelayMs(attempt++, opts.backoff ?? INFORMER_BACKOFF);
    timer = setTimeout(() => {
      timer = undefined;
      restartCount++;
      void run();
    }, delay);
  };

  inner.on('error', (err?: unknown) => {
    erroredThisRun = true;
    opts.onError?.(err);
    if (stopped) return;
    log.warn({ event: 'informerError', err: errorMessage(err), attempt }, 'watch failed; restarting with backoff');
    schedule();
  });

  async function run(): Promise<void> {
    if (stopped) return;
    erroredThisRun = false;
    try {
      await inner.start();
    } catch (err) {
      // Watch.watch throws only for a kubeconfig without a cluster; treat like any other error.
      erroredThisRun = true;
      opts.onError?.(err);
      schedule();
      return;
    }
    // ListWatch.start() resolves even when the list failed (it reports through 'error');
    // success means the list was applied and the watch request was accepted.
    if (!erroredThisRun && !stopped) {
      if (!synced) log.debug({ event: 'informerSynced', objects: inner.list().length }, 'informer synced');
      synced = true;
      attempt = 0;
      if (restartCount > 0) opts.onRestart?.();
    }
  }

  return {
    start(): Promise<void> {
      if (!stopped) return starting ?? Promise.resolve();
      stopped = false;
      starting = run();
      return starting;
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inner.stop();
    },
    hasSynced: () => synced,
    get: (name, namespace) => inner.get(name, namespace),
    list: (namespace) => inner.list(namespace),
    restarts: () => restartCount,
  };
}

/** `namespace/name` (or `name` for cluster-scoped objects), the work-queue key convention of client-go. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Split a key made by {@link objectKey}. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
