/**
 * An informer that stays up: list, then watch from the list's resourceVersion, relist on 410 Gone
 * (client-go's reflector, and client-node's `ListWatch`, which this replaces because its module
 * pulls in client-node's generated API: src/k8s/kubeconfig.ts), with the errors that would stop a
 * plain list-watch (a failed list, a watch that ends with an error, an apiserver restart)
 * restarting it with exponential backoff (docs/architecture.md §3). A restart resumes the watch
 * from the last resourceVersion it saw, so a short outage costs no relist.
 *
 * Handlers are level-triggered by convention: they should only enqueue a key; workers read the
 * latest object back through `get()`.
 */
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { type BackoffPolicy, backoffDelayMs } from './backoff';
import type { ApiError, KubeClient, WatchEvent, WatchHandle } from './client';

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
  const transform = opts.transform ?? ((o: T): T => o);
  const on = opts.onEvent;
  /** namespace ('' for cluster-scoped) → name → object. */
  const objects = new Map<string, Map<string, T>>();
  let resourceVersion = '';
  let watch: WatchHandle | undefined;
  let synced = false;
  let stopped = true;
  /** Bumped by stop(): callbacks of an older run find it changed and do nothing. */
  let generation = 0;
  let attempt = 0;
  let restartCount = 0;
  let restartPending = false;
  let timer: NodeJS.Timeout | undefined;
  let starting: Promise<void> | undefined;

  const nsOf = (o: T): string => o.metadata?.namespace ?? '';
  const put = (obj: T): void => {
    const ns = nsOf(obj);
    const name = obj.metadata?.name ?? '';
    let byName = objects.get(ns);
    if (!byName) objects.set(ns, (byName = new Map()));
    const found = byName.get(name);
    // An unchanged resourceVersion is the same object (a relist re-delivers everything).
    if (found && found.metadata?.resourceVersion !== undefined && found.metadata.resourceVersion === obj.metadata?.resourceVersion) return;
    byName.set(name, obj);
    on?.(found ? 'update' : 'add', obj);
  };
  const remove = (obj: T): void => {
    const byName = objects.get(nsOf(obj));
    const name = obj.metadata?.name ?? '';
    const found = byName?.get(name);
    if (!byName || !found) return;
    byName.delete(name);
    if (byName.size === 0) objects.delete(nsOf(obj));
    on?.('delete', found);
  };
  /** Replace the cache with a list: what it lacks is deleted, the rest added or updated. */
  const replace = (items: readonly T[]): void => {
    const listed = new Set(items.map((o) => `${nsOf(o)}/${o.metadata?.name ?? ''}`));
    for (const [ns, byName] of objects) for (const [name, obj] of byName) if (!listed.has(`${ns}/${name}`)) remove(obj);
    for (const item of items) put(item);
  };

  const failed = (err: unknown): void => {
    opts.onError?.(err);
    if (stopped) return;
    log.warn({ event: 'informerError', err: errorMessage(err), attempt }, 'watch failed; restarting with backoff');
    if (timer) return;
    const delay = backoffDelayMs(attempt++, opts.backoff ?? INFORMER_BACKOFF);
    timer = setTimeout(() => {
      timer = undefined;
      restartCount++;
      restartPending = true;
      void run().catch(failed);
    }, delay);
  };

  const onWatchEvent = (ev: WatchEvent): void => {
    const obj = ev.object as T & { code?: number };
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED':
        put(transform(obj));
        break;
      case 'DELETED':
        remove(transform(obj));
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR':
        // 410 Gone: the resourceVersion is too old; the stream ends and the next run relists.
        if (obj.code === 410) resourceVersion = '';
        return;
    }
    resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
  };

  /** List when there is no resourceVersion to resume from, then watch. Rejects when the list fails. */
  async function run(): Promise<void> {
    const gen = generation;
    if (stopped) return;
    if (!resourceVersion) {
      const res = await opts.client.list<T>(opts.path, {
        ...(opts.labelSelector === undefined ? {} : { labelSelector: opts.labelSelector }),
        ...(opts.transform ? { transform: opts.transform } : {}),
      });
      if (stopped || gen !== generation) return;
      replace(res.items);
      resourceVersion = res.resourceVersion;
    }
    watch = opts.client.watch(opts.path, { resourceVersion, labelSelector: opts.labelSelector }, (ev) => gen === generation && onWatchEvent(ev), (err?: ApiError) => {
      if (stopped || gen !== generation) return;
      watch = undefined;
      if (err?.statusCode === 410) resourceVersion = '';
      if (err && err.statusCode !== 410) failed(err);
      else void run().catch(failed);
    });
    if (!synced) log.debug({ event: 'informerSynced', objects: objects.size }, 'informer synced');
    synced = true;
    attempt = 0;
    // Only a restart after an error resyncs dependants, not the routine re-watch of a closed stream.
    if (restartPending) {
      restartPending = false;
      opts.onRestart?.();
    }
  }

  return {
    start(): Promise<void> {
      if (!stopped) return starting ?? Promise.resolve();
      stopped = false;
      starting = run().catch(failed);
      return starting;
    },
    async stop(): Promise<void> {
      stopped = true;
      generation++;
      if (timer) clearTimeout(timer);
      timer = undefined;
      watch?.abort();
      watch = undefined;
    },
    hasSynced: () => synced,
    get: (name, namespace) => objects.get(namespace ?? '')?.get(name),
    list: (namespace) => (namespace ? [...(objects.get(namespace)?.values() ?? [])] : [...objects.values()].flatMap((m) => [...m.values()])),
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
