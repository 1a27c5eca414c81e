/**
 * frr-k8s `FRRConfiguration` objects (group frrk8s.metallb.io) do nothing here: upstream's
 * frr-k8s mode merges them into the FRR configuration it runs, and we run no FRR. A cluster
 * moving from upstream 0.16 (whose default backend is frr-k8s) may still hold some, with extra
 * routes or neighbours its owner expects to be in force. So the leader, if that CRD exists,
 * watches the objects cluster-wide and, once per object, logs a warning and records a Warning
 * Event on it (docs/migration.md, "BGP without FRR").
 *
 * The CRD is looked up once, through API discovery, when the watch starts: without it there is
 * nothing to watch, and an informer on a missing resource would retry and warn forever.
 */
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { type KubeClient, isNotFound } from '../k8s/client';
import { EventType, type EventRecorder } from '../k8s/events';
import { createInformer, type Informer, type KubeObject } from '../k8s/informer';

/** frr-k8s' API group version and resource (github.com/metallb/frr-k8s, api/v1beta1). */
export const FRR_K8S_GROUP_VERSION = 'frrk8s.metallb.io/v1beta1';
export const FRR_CONFIGURATION_RESOURCE = 'frrconfigurations';

/** Event reason on an FRRConfiguration. */
export const FRR_CONFIGURATION_REASON = 'FRRConfigurationIgnored';

/** The message for one FRRConfiguration (pure; shared by log and Event). */
export function frrConfigurationMessage(namespace: string, name: string): string {
  return `FRRConfiguration "${namespace}/${name}" does not apply: metallb-ts runs no FRR or frr-k8s (its speaker speaks BGP itself) and reads no frrk8s.metallb.io objects`;
}

/** True when API discovery lists `frrconfigurations` in frrk8s.metallb.io/v1beta1. */
export async function frrConfigurationCrdExists(client: KubeClient): Promise<boolean> {
  try {
    const list = await client.request<{ resources?: { name?: string }[] }>({ method: 'GET', path: `/apis/${FRR_K8S_GROUP_VERSION}` });
    return (list.resources ?? []).some((r) => r.name === FRR_CONFIGURATION_RESOURCE);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** The start/stop pair main.ts drives with leadership. */
export interface FrrConfigurationWatch {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function watchFrrConfigurations(deps: { client: KubeClient; log: Logger; recorder: EventRecorder }): FrrConfigurationWatch {
  const { client, log, recorder } = deps;
  /** uids reported; an object re-created under the same name has a new uid and is reported again. */
  const seen = new Set<string>();
  let informer: Informer<KubeObject> | undefined;
  let stopped = false;
  return {
    async start(): Promise<void> {
      if (informer !== undefined) return;
      let exists: boolean;
      try {
        exists = await frrConfigurationCrdExists(client);
      } catch (err) {
        log.warn({ event: 'frrConfigurationCheckFailed', err: errorMessage(err) }, 'cannot tell whether frr-k8s FRRConfiguration objects exist');
        return;
      }
      if (!exists || stopped) return;
      informer = createInformer<KubeObject>({
        client,
        path: `/apis/${FRR_K8S_GROUP_VERSION}/${FRR_CONFIGURATION_RESOURCE}`,
        log,
        onEvent: (ev, o) => {
          const ns = o.metadata?.namespace ?? '';
          const name = o.metadata?.name ?? '';
          const uid = o.metadata?.uid ?? `${ns}/${name}`;
          if (ev === 'delete') {
            seen.delete(uid);
            return;
          }
          if (seen.has(uid)) return;
          seen.add(uid);
          const message = frrConfigurationMessage(ns, name);
          log.warn({ event: 'frrConfigurationIgnored', namespace: ns, name }, message);
          const ref = { apiVersion: FRR_K8S_GROUP_VERSION, kind: 'FRRConfiguration', namespace: ns, name, ...(o.metadata?.uid ? { uid: o.metadata.uid } : {}) };
          recorder.record(ref, EventType.Warning, FRR_CONFIGURATION_REASON, message);
        },
      });
      await informer.start();
    },
    async stop(): Promise<void> {
      stopped = true;
      await informer?.stop();
    },
  };
}
