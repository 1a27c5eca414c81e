/**
 * The running Pod as an owner for objects a process creates (ConfigurationState, Service*Status),
 * so Kubernetes' garbage collector deletes them with the Pod, as upstream's do
 * (docs/upstream-behaviour.md §4.6). Outside a cluster (no pod name, or no such Pod) there is no
 * owner: the objects are still written, just not collected.
 */
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { isNotFound, type KubeClient } from './client';

/** An ownerReference as the API takes it. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** A Pod's name and uid (enough for an ownerReference), and the workload that controls it. */
export interface PodOwner {
  readonly name: string;
  readonly uid: string;
  /** The Pod's controller (the speaker's DaemonSet), when it has one. */
  readonly controller?: OwnerReference;
}

interface PodMeta {
  metadata?: { uid?: string; ownerReferences?: (Partial<OwnerReference> & { controller?: boolean })[] };
}

function controllerOf(pod: PodMeta): OwnerReference | undefined {
  const c = pod.metadata?.ownerReferences?.find((r) => r.controller === true);
  return c?.apiVersion && c.kind && c.name && c.uid ? { apiVersion: c.apiVersion, kind: c.kind, name: c.name, uid: c.uid } : undefined;
}

/** What one lookup learned: an owner, a definite "none", or nothing (try again later). */
type Lookup = { readonly settled: true; readonly owner: PodOwner | undefined } | { readonly settled: false };

async function lookUp(client: KubeClient, namespace: string, podName: string, log: Logger): Promise<Lookup> {
  if (!podName) return { settled: true, owner: undefined };
  try {
    const pod = await client.request<PodMeta>({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}` });
    const controller = controllerOf(pod);
    return { settled: true, owner: pod.metadata?.uid ? { name: podName, uid: pod.metadata.uid, ...(controller ? { controller } : {}) } : undefined };
  } catch (err) {
    if (isNotFound(err)) {
      log.debug({ event: 'podNotFound', pod: podName }, 'objects created by this process will have no owner');
      return { settled: true, owner: undefined };
    }
    log.debug({ event: 'podLookupFailed', pod: podName, err: errorMessage(err) }, 'no owner for now; asking again on the next write');
    return { settled: false };
  }
}

/** One lookup, uncached (prefer podOwnerSource). */
export async function podOwner(client: KubeClient, namespace: string, podName: string, log: Logger): Promise<PodOwner | undefined> {
  const r = await lookUp(client, namespace, podName, log);
  return r.settled ? r.owner : undefined;
}

/** The owner Pod of this process: `get()` asks the apiserver until it knows; `known()` never waits. */
export interface PodOwnerSource {
  get(): Promise<PodOwner | undefined>;
  /** What the last successful lookup found (undefined before one succeeded). */
  known(): PodOwner | undefined;
}

/**
 * The owner, looked up once it can be known: a definite answer (the Pod, or no pod name, or a
 * 404) is kept for the life of the process; a failed request (apiserver restarting, timeout) is
 * not, so one bad moment at start-up does not leave every object this process writes unowned.
 * Concurrent callers share one request.
 */
export function podOwnerSource(client: KubeClient, namespace: string, podName: string, log: Logger): PodOwnerSource {
  let settled: Lookup | undefined;
  let pending: Promise<Lookup> | undefined;
  return {
    get: async () => {
      if (settled?.settled) return settled.owner;
      pending ??= lookUp(client, namespace, podName, log).finally(() => {
        pending = undefined;
      });
      const r = await pending;
      if (r.settled) settled = r;
      return r.settled ? r.owner : undefined;
    },
    known: () => (settled?.settled ? settled.owner : undefined),
  };
}

/** The ownerReference for `owner` (not a controller reference: nothing else competes for it). */
export function podOwnerReference(owner: PodOwner): OwnerReference {
  return { apiVersion: 'v1', kind: 'Pod', name: owner.name, uid: owner.uid };
}
