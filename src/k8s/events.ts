/**
 * Kubernetes Event recorder (core/v1 Events), the basic behaviour of client-go's
 * `record.EventRecorder` that users see with `kubectl describe`:
 * - events are named `<object>.<hex unix-nanos>` and carry `source.component` and
 *   `reportingComponent` (upstream's recorder name, e.g. `metallb-controller`,
 *   docs/upstream-behaviour.md §3.10);
 * - a repeat of the same (object, type, reason, message) within 10 minutes PATCHes the existing
 *   Event's `count` and `lastTimestamp` instead of creating a new one (client-go's
 *   EventCorrelator), so a Service that stays pending does not flood etcd;
 * - writing is asynchronous and bounded: recording never blocks a reconcile and a flood is
 *   dropped (client-go drops when its 1000-deep broadcaster channel is full).
 */
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { type KubeClient, PatchType, isNotFound } from './client';
import type { KubeObject } from './informer';

/** core/v1 event types. */
export const EventType = {
  Normal: 'Normal',
  Warning: 'Warning',
} as const;
/** One {@link EventType}. */
export type EventType = (typeof EventType)[keyof typeof EventType];

/** The object an event is about. */
export interface InvolvedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

/** Reference to a watched object, for {@link EventRecorder.record}. */
export function refTo(obj: KubeObject, kind: string, apiVersion: string): InvolvedObject {
  const m = obj.metadata ?? {};
  return {
    apiVersion: obj.apiVersion ?? apiVersion,
    kind: obj.kind ?? kind,
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    ...(m.uid === undefined ? {} : { uid: m.uid }),
    ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
  };
}

/** Options of {@link createEventRecorder}. */
export interface EventRecorderOptions {
  readonly client: KubeClient;
  readonly log: Logger;
  /** `source.component` and `reportingComponent`, e.g. `metallb-controller`. */
  readonly component: string;
  /** `source.host` and `reportingInstance` (pod or node name). */
  readonly instance?: string;
  readonly maxInFlight?: number;
  readonly maxQueued?: number;
  readonly now?: () => Date;
  /** Called once per written (created or patched) event. */
  readonly onWrite?: (type: EventType, reason: string) => void;
}

/** Records events; `flush()` waits for everything queued to be written. */
export interface EventRecorder {
  record(obj: InvolvedObject, type: EventType, reason: string, message: string): void;
  flush(): Promise<void>;
  /** Events dropped because the queue was full. */
  dropped(): number;
}

/** client-go's correlator remembers similar events this long. */
const DEDUP_WINDOW_MS = 10 * 60_000;
/** client-go's LRU cache size for the correlator. */
const DEDUP_ENTRIES = 4096;
/** The apiserver limits Event messages to 1 KiB. */
const MAX_MESSAGE = 1024;

interface Seen {
  name: string;
  count: number;
  first: string;
  at: number;
}

interface Pending {
  obj: InvolvedObject;
  type: EventType;
  reason: string;
  message: string;
  time: Date;
}

/** Build an {@link EventRecorder}. */
export function createEventRecorder(opts: EventRecorderOptions): EventRecorder {
  const now = opts.now ?? (() => new Date());
  const maxInFlight = opts.maxInFlight ?? 8;
  // client-go drops beyond 1000 queued; a controller assigning thousands of Services at start
  // (each with an IPAllocated event) must not lose them, so the default is deeper.
  const maxQueued = opts.maxQueued ?? 20_000;
  const seen = new Map<string, Seen>();
  const pending: Pending[] = [];
  let inFlight = 0;
  let droppedCount = 0;
  let serial = 0;
  let idle: (() => void)[] = [];

  const keyOf = (p: Pending): string =>
    [p.obj.kind, p.obj.namespace, p.obj.name, p.obj.uid ?? '', p.type, p.reason, p.message].join('\u0000');

  async function write(p: Pending): Promise<void> {
    const key = keyOf(p);
    const prev = seen.get(key);
    const ts = p.time.toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (prev && p.time.getTime() - prev.at < DEDUP_WINDOW_MS) {
      const count = prev.count + 1;
      try {
        await opts.client.request({
          method: 'PATCH',
          path: `/api/v1/namespaces/${p.obj.namespace}/events/${prev.name}`,
          body: { count, lastTimestamp: ts },
          contentType: PatchType.Merge,
        });
        seen.delete(key);
        seen.set(key, { ...prev, count, at: p.time.getTime() });
        opts.onWrite?.(p.type, p.reason);
        return;
      } catch (err) {
        // The event may have expired (the apiserver's event TTL is 1 h); fall back to a new one.
        if (!isNotFound(err)) throw err;
      }
    }
    const name = `${p.obj.name}.${(BigInt(p.time.getTime()) * 1_000_000n + BigInt(serial++ % 1_000_000)).toString(16)}`;
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: p.obj.namespace },
      involvedObject: p.obj,
      reason: p.reason,
      message: p.message.length > MAX_MESSAGE ? `${p.message.slice(0, MAX_MESSAGE - 3)}...` : p.message,
      type: p.type,
      source: { component: opts.component, ...(opts.instance ? { host: opts.instance } : {}) },
      firstTimestamp: ts,
      lastTimestamp: ts,
      eventTime: null,
      count: 1,
      reportingComponent: opts.component,
      reportingInstance: opts.instance ?? '',
    };
    await opts.client.request({ method: 'POST', path: `/api/v1/namespaces/${p.obj.namespace}/events`, body });
    seen.set(key, { name, count: 1, first: ts, at: p.time.getTime() });
    if (seen.size > DEDUP_ENTRIES) {
      const oldest = seen.keys().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
    opts.onWrite?.(p.type, p.reason);
  }

  function pump(): void {
    while (inFlight < maxInFlight && pending.length > 0) {
      const p = pending.shift() as Pending;
      inFlight++;
      write(p)
        .catch((err: unknown) => {
          opts.log.warn({ event: 'eventWriteFailed', reason: p.reason, object: `${p.obj.namespace}/${p.obj.name}`, err: errorMessage(err) }, 'could not write Event');
        })
        .finally(() => {
          inFlight--;
          pump();
          if (inFlight === 0 && pending.length === 0) {
            const w = idle;
            idle = [];
            for (const f of w) f();
          }
        });
    }
  }

  return {
    record(obj, type, reason, message): void {
      if (pending.length >= maxQueued) {
        if (droppedCount++ % 1000 === 0) opts.log.warn({ event: 'eventsDropped', dropped: droppedCount, reason }, 'Event queue full; dropping events');
        return;
      }
      pending.push({ obj, type, reason, message, time: now() });
      pump();
    },
    flush(): Promise<void> {
      if (inFlight === 0 && pending.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
    dropped: () => droppedCount,
  };
}
