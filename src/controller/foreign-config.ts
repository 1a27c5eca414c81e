/**
 * metallb.io configuration created outside the release namespace is ignored, as upstream does,
 * but never silently: upstream users who `kubectl apply` a pool into `default` see `<pending>`
 * and nothing else (docs/upstream-behaviour.md §11.12). The leader watches the config kinds
 * cluster-wide and, once per object, logs a warning and records a Warning Event on the object
 * itself, both naming the object and the namespace it should be in.
 *
 * Only the leader does it (one log line per object per cluster, not per replica); the watches
 * cost one connection per kind and read nothing the configuration depends on.
 */
import type { Logger } from '../util/log';
import type { KubeClient } from '../k8s/client';
import { EventType, type EventRecorder } from '../k8s/events';
import { createInformer, type Informer, type KubeObject } from '../k8s/informer';
import { CONFIG_SOURCES } from '../k8s/config-sources';

/** The metallb.io kinds users create (config sources minus core objects). */
const CONFIG_KINDS = CONFIG_SOURCES.filter((s) => s.apiVersion.startsWith('metallb.io/'));

/** Event reason on an ignored object. */
export const FOREIGN_CONFIG_REASON = 'IgnoredOutsideNamespace';

/** The message for an object of `kind` in `objectNamespace` (pure; shared by log and Event). */
export function foreignConfigMessage(kind: string, objectNamespace: string, name: string, releaseNamespace: string): string {
  return `${kind} "${objectNamespace}/${name}" is ignored: metallb-ts reads its configuration only from namespace "${releaseNamespace}"; create it there`;
}

/** Cluster-wide collection path of a namespaced config source. */
export function clusterWidePath(namespacedPath: string): string {
  return namespacedPath.replace(/\/namespaces\/\{ns\}\//, '/');
}

export interface ForeignConfigWatch {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function watchForeignConfig(deps: { client: KubeClient; log: Logger; recorder: EventRecorder; namespace: string }): ForeignConfigWatch {
  const { client, log, recorder, namespace } = deps;
  /** uids reported; an object re-created with the same name has a new uid and is reported again. */
  const seen = new Set<string>();
  const informers: Informer<KubeObject>[] = CONFIG_KINDS.map((s) =>
    createInformer<KubeObject>({
      client,
      path: clusterWidePath(s.path),
      log,
      onEvent: (ev, o) => {
        const ns = o.metadata?.namespace ?? '';
        const uid = o.metadata?.uid ?? `${ns}/${o.metadata?.name ?? ''}`;
        if (ns === namespace || ns === '') return;
        if (ev === 'delete') {
          seen.delete(uid);
          return;
        }
        if (seen.has(uid)) return;
        const name = o.metadata?.name ?? '';
        seen.add(uid);
        const message = foreignConfigMessage(s.kind, ns, name, namespace);
        log.warn({ event: 'configOutsideNamespace', kind: s.kind, namespace: ns, name, releaseNamespace: namespace }, message);
        recorder.record({ apiVersion: s.apiVersion, kind: s.kind, namespace: ns, name, ...(o.metadata?.uid ? { uid: o.metadata.uid } : {}) }, EventType.Warning, FOREIGN_CONFIG_REASON, message);
      },
    }),
  );
  return {
    start: async () => {
      await Promise.all(informers.map((i) => i.start()));
    },
    stop: async () => {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
