/**
 * ConfigurationState objects (docs/upstream-behaviour.md §1.10), written by both processes: the
 * controller's `controller` (condition `poolReconcilerValid`) and each speaker's
 * `speaker-<node>` (condition `configReconcilerValid`), same shape, owned by the writing Pod.
 */
import type { KubeClient } from './client';
import { PatchType, isConflict, isNotFound } from './client';
import { podOwnerReference } from './pod-owner';
import { ConditionReason, type ConfigVerdict } from '../config/verdict';
import { errorMessage } from '../util/errors';
import type { Logger } from '../util/log';

/** ConfigurationState condition type written by the controller. */
export const POOL_CONDITION_TYPE = 'poolReconcilerValid';
/** Field manager of the condition (server-side apply), as upstream. */
export const POOL_FIELD_MANAGER = 'poolReconciler';
/** Name of the controller's ConfigurationState. */
export const CONTROLLER_STATE_NAME = 'controller';

/** Which ConfigurationState object a process writes, and under which condition (docs/upstream-behaviour.md §1.10). */
export interface ConfigurationStateTarget {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly conditionType: string;
  readonly fieldManager: string;
}

/** The controller's object: `controller`, condition `poolReconcilerValid`. */
export const CONTROLLER_STATE: ConfigurationStateTarget = {
  name: CONTROLLER_STATE_NAME,
  labels: { 'metallb.io/component-type': 'controller' },
  conditionType: POOL_CONDITION_TYPE,
  fieldManager: POOL_FIELD_MANAGER,
};

/** A speaker's object: `speaker-<node>`, condition `configReconcilerValid`. */
export function speakerState(node: string): ConfigurationStateTarget {
  return {
    name: `speaker-${node}`,
    labels: { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': node },
    conditionType: 'configReconcilerValid',
    fieldManager: 'configReconciler',
  };
}

/** `status` of the ConfigurationState for a verdict: result, errorSummary, one condition. */
export function configurationStateStatus(v: ConfigVerdict, now: Date, conditionType: string = POOL_CONDITION_TYPE): Record<string, unknown> {
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  // Disabled BGPPeers leave the configuration valid (src/config/peers.ts); the condition's
  // message says which and why, in the words `metallb-ts validate` prints.
  const condition = v.valid
    ? { type: conditionType, status: 'True', reason: ConditionReason.Reconciled, message: v.disabledPeers ?? '', lastTransitionTime: time }
    : { type: conditionType, status: 'False', reason: v.reason, message: `configuration error: ${v.summary}`, lastTransitionTime: time };
  // Upstream's QUIRK kept: only ConfigurationError makes the result Invalid
  // (docs/upstream-behaviour.md §1.10).
  const invalid = !v.valid && v.reason === ConditionReason.ConfigurationError;
  return {
    result: invalid ? 'Invalid' : 'Valid',
    errorSummary: invalid ? `configuration error: ${v.summary}` : '',
    conditions: [condition],
  };
}

/**
 * Create the ConfigurationState if needed and apply its status. Owned by the pod when known,
 * so it goes away with the pod (docs/upstream-behaviour.md §10.30).
 */
export async function writeConfigurationState(
  client: KubeClient,
  namespace: string,
  verdict: ConfigVerdict,
  owner: { readonly name: string; readonly uid: string } | undefined,
  now: Date = new Date(),
  target: ConfigurationStateTarget = CONTROLLER_STATE,
): Promise<void> {
  const base = `/apis/metallb.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/configurationstates`;
  const name = encodeURIComponent(target.name);
  const metadata = {
    name: target.name,
    namespace,
    labels: { ...target.labels },
    ...(owner ? { ownerReferences: [podOwnerReference(owner)] } : {}),
  };
  try {
    await client.request({ method: 'GET', path: `${base}/${name}` });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await client.request({ method: 'POST', path: base, body: { apiVersion: 'metallb.io/v1beta1', kind: 'ConfigurationState', metadata } });
    } catch (e) {
      // 409: created concurrently (another replica); the status apply below still works.
      if (!isConflict(e)) throw e;
    }
  }
  await client.request({
    method: 'PATCH',
    path: `${base}/${name}/status`,
    query: { fieldManager: target.fieldManager, force: true },
    contentType: PatchType.Apply,
    body: { apiVersion: 'metallb.io/v1beta1', kind: 'ConfigurationState', metadata: { name: target.name, namespace }, status: configurationStateStatus(verdict, now, target.conditionType) },
  });
}

/** Dependencies of {@link ConfigurationStatePublisher}. */
export interface ConfigurationStatePublisherDeps {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly target: ConfigurationStateTarget;
  /** The owning Pod, looked up before each write. */
  readonly owner: () => Promise<{ readonly name: string; readonly uid: string } | undefined>;
  readonly log: Logger;
  /** Delay before a failed write is tried again. */
  readonly retryMs?: number;
  readonly now?: () => Date;
}

/**
 * Keeps one ConfigurationState in line with a verdict that may change at any moment: written when
 * the verdict differs from the one last written, one write at a time, the newest verdict next
 * (a change during a write is written after it), a failed write retried `retryMs` later.
 */
export class ConfigurationStatePublisher {
  private latest: ConfigVerdict | undefined;
  private written = '';
  private writing = false;

  constructor(private readonly deps: ConfigurationStatePublisherDeps) {}

  /** Publish `verdict` (or, without one, retry the latest). Never throws; failures are logged. */
  publish(verdict?: ConfigVerdict): void {
    if (verdict) this.latest = verdict;
    if (!this.latest || this.writing) return;
    const current = this.latest;
    const key = JSON.stringify(current);
    if (key === this.written) return;
    this.writing = true;
    const { client, namespace, target, owner, log } = this.deps;
    // Fire and forget: both outcomes are handled below, and the caller (a recompute) must not wait.
    void owner()
      .then((pod) => writeConfigurationState(client, namespace, current, pod, this.deps.now?.() ?? new Date(), target))
      .then(
        () => {
          this.writing = false;
          this.written = key;
          this.publish();
        },
        (err: unknown) => {
          this.writing = false;
          log.warn({ event: 'configurationStateFailed', err: errorMessage(err) }, 'could not write the ConfigurationState; retrying');
          setTimeout(() => this.publish(), this.deps.retryMs ?? 5_000).unref();
        },
      );
  }
}
