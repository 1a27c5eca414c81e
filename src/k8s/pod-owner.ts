/**
 * The running Pod as an owner for objects a process creates (ConfigurationState, Service*Status),
 * so Kubernetes' garbage collector deletes them with the Pod, as upstream's do (spec §4.6).
 * Outside a cluster (no pod name, or the Pod cannot be read) there is no owner: the objects are
 * still written, just not collected.
 */
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import type { KubeClient } from './client';

/** A Pod's name and uid: enough for an ownerReference. */
export interface PodOwner {
  readonly name: string;
  readonly uid: string;
}

export async function podOwner(client: KubeClient, namespace: string, podName: string, log: Logger): Promise<PodOwner | undefined> {
  if (!podName) return undefined;
  try {
    const pod = await client.request<{ metadata?: { uid?: string } }>({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}` });
    return pod.metadata?.uid ? { name: podName, uid: pod.metadata.uid } : undefined;
  } catch (err) {
    log.debug({ event: 'podLookupFailed', pod: podName, err: errorMessage(err) }, 'objects created by this process will have no owner');
    return undefined;
  }
}

/** The ownerReference for `owner` (not a controller reference: nothing else competes for it). */
export function podOwnerReference(owner: PodOwner): { apiVersion: string; kind: string; name: string; uid: string } {
  return { apiVersion: 'v1', kind: 'Pod', name: owner.name, uid: owner.uid };
}
