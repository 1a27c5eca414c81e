/**
 * coordination.k8s.io/v1 Lease primitives shared by controller leader election and the
 * speaker's per-IP ownership (docs/architecture.md §7): a pure decision ("may I take or renew this
 * lease now?") and compare-and-swap writes. Every write carries the resourceVersion that was
 * read, so two contenders can never both succeed: the apiserver answers the loser 409 Conflict.
 *
 * Expiry follows client-go's leaderelection: a contender does not trust the holder's
 * `renewTime` (clocks differ between nodes) but the local time at which it *observed* the
 * record change; the lease is free once `leaseDurationSeconds` have passed since then.
 */
import { type KubeClient, isConflict, isNotFound } from './client';
import type { KubeObject } from './informer';

/** Lease spec fields (MicroTime values are RFC 3339 strings with microseconds). */
export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

/** A Lease as plain JSON. */
export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** Path of the Lease collection (or one Lease) in a namespace. */
export function leasePath(namespace: string, name?: string): string {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** Kubernetes MicroTime text (`2006-01-02T15:04:05.000000Z`). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** What a contender should do with a lease. */
export type LeaseDecision =
  | { readonly action: 'create'; readonly spec: LeaseSpec }
  | { readonly action: 'update'; readonly spec: LeaseSpec; readonly acquired: boolean }
  | { readonly action: 'wait'; readonly holder: string; readonly expiresInMs: number };

/** Inputs of {@link decideLease}. */
export interface LeaseClaim {
  readonly identity: string;
  readonly leaseDurationSec: number;
  readonly nowMs: number;
  /** Local time at which the current record (holder + renewTime) was first observed. */
  readonly observedAtMs: number;
}

/**
 * Decide, purely, whether `claim.identity` may write the lease now: create it when absent,
 * renew it when held by us, take it when free (empty holder) or expired, else wait. Taking
 * counts a transition even from an empty holder, as client-go does.
 */
export function decideLease(current: LeaseSpec | undefined, claim: LeaseClaim): LeaseDecision {
  const now = microTime(claim.nowMs);
  if (current === undefined) {
    return {
      action: 'create',
      spec: { holderIdentity: claim.identity, leaseDurationSeconds: claim.leaseDurationSec, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    };
  }
  const holder = current.holderIdentity ?? '';
  const transitions = current.leaseTransitions ?? 0;
  if (holder === claim.identity) {
    return {
      action: 'update',
      acquired: false,
      spec: { ...current, holderIdentity: claim.identity, leaseDurationSeconds: claim.leaseDurationSec, renewTime: now, acquireTime: current.acquireTime ?? now },
    };
  }
  if (holder !== '') {
    const durationMs = (current.leaseDurationSeconds ?? claim.leaseDurationSec) * 1000;
    const expiresInMs = claim.observedAtMs + durationMs - claim.nowMs;
    if (expiresInMs > 0) return { action: 'wait', holder, expiresInMs };
  }
  return {
    action: 'update',
    acquired: true,
    spec: { holderIdentity: claim.identity, leaseDurationSeconds: claim.leaseDurationSec, acquireTime: now, renewTime: now, leaseTransitions: transitions + 1 },
  };
}

/** Result of a compare-and-swap write. */
export type CasResult = { readonly ok: true; readonly lease: Lease } | { readonly ok: false; readonly conflict: boolean; readonly error: unknown };

/** Read a lease; undefined when it does not exist. */
export async function getLease(client: KubeClient, namespace: string, name: string): Promise<Lease | undefined> {
  try {
    return await client.request<Lease>({ method: 'GET', path: leasePath(namespace, name) });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Create a lease; a 409 AlreadyExists (someone else created it first) is a lost race, not an error. */
export async function createLease(client: KubeClient, namespace: string, name: string, spec: LeaseSpec, labels?: Record<string, string>): Promise<CasResult> {
  try {
    const lease = await client.request<Lease>({
      method: 'POST',
      path: leasePath(namespace),
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec },
    });
    return { ok: true, lease };
  } catch (err) {
    return { ok: false, conflict: isConflict(err), error: err };
  }
}

/** Replace a lease's spec, guarded by the resourceVersion of `read` (optimistic concurrency). */
export async function updateLease(client: KubeClient, read: Lease, spec: LeaseSpec): Promise<CasResult> {
  const namespace = read.metadata?.namespace ?? '';
  const name = read.metadata?.name ?? '';
  try {
    const lease = await client.request<Lease>({
      method: 'PUT',
      path: leasePath(namespace, name),
      body: { ...read, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec },
    });
    return { ok: true, lease };
  } catch (err) {
    return { ok: false, conflict: isConflict(err), error: err };
  }
}

/** Delete a lease only if it still has the resourceVersion we read (a delete precondition). */
export async function deleteLease(client: KubeClient, read: Lease): Promise<CasResult> {
  try {
    await client.request({
      method: 'DELETE',
      path: leasePath(read.metadata?.namespace ?? '', read.metadata?.name ?? ''),
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: read.metadata?.resourceVersion, uid: read.metadata?.uid } },
    });
    return { ok: true, lease: read };
  } catch (err) {
    return { ok: false, conflict: isConflict(err), error: err };
  }
}

/** Identity of a record for change detection ("observed time" bookkeeping). */
export function leaseRecordKey(spec: LeaseSpec | undefined): string {
  return spec === undefined ? '' : `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${spec.leaseTransitions ?? 0}`;
}
