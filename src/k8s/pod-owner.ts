/**
 * The running Pod as an owner for objects a process creates (ConfigurationState, Service*Status),
 * so Kubernetes' garbage collector deletes them with the Pod, as upstream's do (spec §4.6).
 * Outside a cluster (no pod name, or no such Pod) there is no owner: the objects are still
 * written, just not collected.
 */
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { isNotFound, type KubeClient } from './client';

/** A Pod's name and uid: enough for an ownerReference. */
export interface PodOwner {
  readonly name: string;
  readonly uid: string;
}

/** What one lookup learned: an owner, a definite "none", or nothing (try again later). */
type Lookup = { readonly settled: true; readonly owner: PodOwner | undefined } | { readonly settled: false };

async function lookUp(client: KubeClient, namespace: string, podName: string, log: Logger): Promise<Lookup> {
  if (!podName) return { settled: true, owner: undefined };
  try {
    const pod = await client.request<{ metadata?: { uid?: string } }>({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}` });
    return { settled: true, owner: pod.metadata?.uid ? { name: podName, uid: pod.metadata.uid } : undefined };
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

/**
 * The owner, looked up once it can be known: a definite answer (the Pod, or no pod name, or a
 * 404) is kept for the life of the process; a failed request (apiserver restarting, timeout) is
 * not, so one bad moment at start-up does not leave every object this process writes unowned.
 * Concurrent callers share one request.
 */
export function podOwnerSource(client: KubeClient, namespace: string, podName: string, log: Logger): () => Promise<PodOwner | undefined> {
  let settled: Lookup | undefined;
  let pending: Promise<Lookup> | undefined;
  return async () => {
    if (settled?.settled) return settled.owner;
    pending ??= lookUp(client, namespace, podName, log).finally(() => {
      pending = undefined;
    });
    const r = await pending;
    if (r.settled) settled = r;
    return r.settled ? r.owner : undefined;
  };
}

/** The ownerReference for `owner` (not a controller reference: nothing else competes for it). */
export function podOwnerReference(owner: PodOwner): { apiVersion: string; kind: string; name: string; uid: string } {
  return { apiVersion: 'v1', kind: 'Pod', name: owner.name, uid: owner.uid };
}
