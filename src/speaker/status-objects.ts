/**
 * ServiceL2Status and ServiceBGPStatus, as upstream's speakers keep them
 * (docs/upstream-behaviour.md §4.6, §5.8): per Service and node, one object in the release
 * namespace labelled with node and Service, created with generateName, status written through the
 * status subresource, deleted when this node stops announcing. BGPSessionState (docs/bgp.md
 * "Session state") is kept the same way, per node and BGPPeer. The desired set is computed purely;
 * `StatusWriter` converges the objects from its own informer cache, one write per change and none
 * in steady state.
 */
import { podOwnerReference, type PodOwner } from '../k8s/pod-owner';
import { isConflict, isNotFound, type KubeClient } from '../k8s/client';
import { createInformer, type Informer, type KubeObject } from '../k8s/informer';
import { errorMessage } from '../util/errors';
import type { Logger } from '../util/log';

/** Labels upstream puts on the status objects; `Peer` is ours, on BGPSessionState. */
export const StatusLabel = {
  Node: 'metallb.io/node',
  ServiceName: 'metallb.io/service-name',
  ServiceNamespace: 'metallb.io/service-namespace',
  Peer: 'metallb.io/peer',
} as const;

/** One kind of per-node status object, and how its labels name the object's subject. */
export interface StatusKindSpec {
  readonly plural: string;
  readonly kind: string;
  readonly prefix: string;
  /** The labels (besides the node's) that name the subject of the desired-map key `key`. */
  subjectLabels(key: string): Record<string, string>;
  /** The desired-map key of an existing object, from its labels. */
  keyOf(labels: Readonly<Record<string, string>>): string;
}

/** Per-Service objects are keyed `namespace/name`. */
const serviceKeyed = {
  subjectLabels: (key: string): Record<string, string> => {
    const [ns, name] = key.split('/');
    return { [StatusLabel.ServiceName]: name ?? '', [StatusLabel.ServiceNamespace]: ns ?? '' };
  },
  keyOf: (l: Readonly<Record<string, string>>): string => `${l[StatusLabel.ServiceNamespace] ?? ''}/${l[StatusLabel.ServiceName] ?? ''}`,
};

/** The kinds. BGPSessionState is keyed by the peer label value (session-states.ts). */
export const StatusKind = {
  L2: { plural: 'servicel2statuses', kind: 'ServiceL2Status', prefix: 'l2-', ...serviceKeyed },
  Bgp: { plural: 'servicebgpstatuses', kind: 'ServiceBGPStatus', prefix: 'bgp-', ...serviceKeyed },
  Session: {
    plural: 'bgpsessionstates',
    kind: 'BGPSessionState',
    prefix: 'session-',
    subjectLabels: (key: string): Record<string, string> => ({ [StatusLabel.Peer]: key }),
    keyOf: (l: Readonly<Record<string, string>>): string => l[StatusLabel.Peer] ?? '',
  },
} as const satisfies Record<string, StatusKindSpec>;
export type StatusKind = StatusKindSpec;

/** The status body of one object. */
export interface StatusBody {
  node: string;
  serviceName: string;
  serviceNamespace: string;
  interfaces?: Array<{ name: string }>;
  peers?: string[];
}

interface StatusObject extends KubeObject {
  status?: object;
}

/** Subject key (`namespace/name` for a Service) -> desired status of this node for one kind. */
export type DesiredStatuses<B extends object = StatusBody> = Map<string, B>;

/** The value with object keys sorted at every level, so two encodings of it compare equal. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canonical(o[k])]));
  }
  return v;
}

/**
 * True when the stored status already says what we want. Key order must not matter: the
 * apiserver returns custom resources with sorted keys, and an order-sensitive comparison rewrote
 * every status object on every converge (about 0.2 PUTs per VIP per second in steady state).
 */
export function sameStatus(stored: object | undefined, want: object): boolean {
  return JSON.stringify(canonical(stored ?? {})) === JSON.stringify(canonical(want));
}

/** Converges one kind's objects for one node. */
export class StatusWriter<B extends object = StatusBody> {
  private readonly informer: Informer<StatusObject>;
  private desired: DesiredStatuses<B> = new Map();
  private running = false;
  private again = false;
  private pass: Promise<void> = Promise.resolve();
  /** Set by clear(): no object is written after it, whatever set() or an event asks. */
  private closed = false;
  /**
   * Objects this writer created that the informer has not shown yet, by subject. A pass that
   * starts the moment a create returns (set() called meanwhile) would otherwise find no object
   * for the subject in the cache and create a second one, deleted again once both are seen.
   */
  private readonly created = new Map<string, StatusObject>();

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly node: string,
    private readonly kind: StatusKind,
    private readonly log: Logger,
    /** This speaker's Pod, owner of the objects it creates (garbage-collected with it, §4.6). */
    private readonly owner: () => Promise<PodOwner | undefined> = () => Promise.resolve(undefined),
  ) {
    this.informer = createInformer<StatusObject>({
      client,
      path: this.collection(),
      labelSelector: `${StatusLabel.Node}=${node}`,
      log,
      onEvent: () => this.kick(),
      // A first list that failed (CRD not served yet, API blip) syncs on a retry with no event
      // to follow when there are no objects: converge then, or a set() made meanwhile is lost.
      onRestart: () => this.kick(),
    });
  }

  private collection(name?: string): string {
    const base = `/apis/metallb.io/v1beta1/namespaces/${encodeURIComponent(this.namespace)}/${this.kind.plural}`;
    return name ? `${base}/${encodeURIComponent(name)}` : base;
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** Set the desired objects and converge (coalesced: one pass at a time). Ignored after clear(). */
  set(desired: DesiredStatuses<B>): void {
    if (this.closed) return;
    this.desired = desired;
    this.kick();
  }

  /**
   * Delete this node's objects now and write none after (graceful stop: the next owner writes
   * its own). Waits for a pass in flight, whose create could otherwise land after the deletes,
   * and deletes what the apiserver lists rather than what the cache holds, which may not show
   * an object created a moment ago or may not have synced at all.
   */
  async clear(): Promise<void> {
    this.closed = true;
    this.desired = new Map();
    while (this.running) await this.pass;
    try {
      const { items } = await this.client.list<StatusObject>(this.collection(), { labelSelector: `${StatusLabel.Node}=${this.node}` });
      for (const o of items) await this.delete(o);
    } catch (err) {
      // Owned by this speaker's Pod: the garbage collector deletes what is left with it.
      this.log.warn({ event: 'statusClearFailed', kind: this.kind.kind, err: errorMessage(err) }, 'could not delete status objects on stop');
    }
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.pass = this.converge().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async converge(): Promise<void> {
    if (!this.informer.hasSynced()) return;
    const bySubject = new Map<string, StatusObject[]>();
    const listed = this.informer.list(this.namespace);
    const names = new Set(listed.map((o) => o.metadata?.name));
    for (const [k, o] of this.created) if (names.has(o.metadata?.name)) this.created.delete(k);
    for (const o of listed) {
      const k = this.kind.keyOf(o.metadata?.labels ?? {});
      bySubject.set(k, [...(bySubject.get(k) ?? []), o]);
    }
    for (const [k, o] of this.created) if (!bySubject.has(k)) bySubject.set(k, [o]);
    try {
      for (const [k, objs] of bySubject) {
        const want = this.desired.get(k);
        // Keep one object when wanted; delete the rest (upstream deletes extras too).
        for (const o of want ? objs.slice(1) : objs) {
          await this.delete(o);
          if (this.created.get(k) === o) this.created.delete(k);
        }
        const keep = want ? objs[0] : undefined;
        if (keep && want && !sameStatus(keep.status, want)) {
          const written = await this.writeStatus(keep, want);
          if (this.created.get(k) === keep) this.created.set(k, written);
        }
      }
      for (const [k, want] of this.desired) {
        if (bySubject.has(k)) continue;
        const owner = await this.owner();
        const created = await this.client.request<StatusObject>({
          method: 'POST',
          path: this.collection(),
          body: {
            apiVersion: 'metallb.io/v1beta1',
            kind: this.kind.kind,
            metadata: {
              generateName: this.kind.prefix,
              namespace: this.namespace,
              labels: { [StatusLabel.Node]: this.node, ...this.kind.subjectLabels(k) },
              ...(owner ? { ownerReferences: [podOwnerReference(owner)] } : {}),
            },
            spec: {},
          },
        });
        this.created.set(k, created);
        this.created.set(k, await this.writeStatus(created, want));
      }
    } catch (err) {
      // Our own previous write, not yet in the cache: its watch event converges again.
      if (isConflict(err)) {
        this.log.debug({ event: 'statusWriteConflict', kind: this.kind.kind }, 'status object changed since cached; retrying on its event');
        return;
      }
      // The next informer event or plan retries; status objects are informational. What we
      // created may be gone (deleted before the informer saw it): trust the informer again.
      this.created.clear();
      this.log.warn({ event: 'statusWriteFailed', kind: this.kind.kind, err: errorMessage(err) }, 'status object write failed');
    }
  }

  /** Delete one object; already gone is fine. */
  private async delete(o: StatusObject): Promise<void> {
    try {
      await this.client.request({ method: 'DELETE', path: this.collection(o.metadata?.name ?? '') });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async writeStatus(obj: StatusObject, status: B): Promise<StatusObject> {
    return this.client.request<StatusObject>({ method: 'PUT', path: `${this.collection(obj.metadata?.name ?? '')}/status`, body: { ...obj, status } });
  }
}
