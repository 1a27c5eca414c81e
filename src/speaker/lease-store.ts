/**
 * The Lease writes of the L2 election (docs/architecture.md §7): one coordination.k8s.io/v1 Lease
 * per VIP and one presence Lease per speaker, in the release namespace. Every ownership change is
 * an optimistic-concurrency write (create, or update carrying the resourceVersion we last saw), so
 * two speakers can never both believe a write of theirs made them the holder. Reads come from
 * the speaker's one Lease informer; this file only writes.
 */
import type { KubeClient } from '../k8s/client';
import { deleteLease, leasePath, microTime, updateLease, type CasResult, type Lease } from '../k8s/lease';
import { isConflict } from '../k8s/client';
import type { OwnerReference } from '../k8s/pod-owner';
import type { LeaseView } from './lease-decision';

/** Labels and annotations on our Leases. */
export const LeaseLabel = {
  Kind: 'metallb.io/lease-kind',
  ManagedBy: 'app.kubernetes.io/managed-by',
} as const;
export const LeaseKind = { Vip: 'vip', Presence: 'speaker' } as const;
export const LeaseAnnotation = {
  Ip: 'metallb.io/ip',
  /** `iface=mac,iface=mac` of the holder: what the successor probes (docs/architecture.md §7). */
  HolderMacs: 'metallb.io/holder-macs',
  /**
   * `iface=mac,...` of every interface a speaker may serve on, on its presence Lease: how a holder
   * cut off from the API tells a live successor's claim from a forged one (l2-claims.ts).
   */
  NodeMacs: 'metallb.io/node-macs',
} as const;

/** Lease name of a VIP: DNS-1123 safe, one per IP (`10.0.0.1` -> `metallb-vip-10-0-0-1`). */
export function vipLeaseName(ip: string): string {
  const body = ip.toLowerCase().replace(/[.:]/g, '-');
  // IPv6 like `fd00::` would end in '-', which a name may not; a trailing 'x' keeps it unique.
  return `metallb-vip-${body}${body.endsWith('-') ? 'x' : ''}`;
}

/** Presence Lease of a speaker: renewed periodically; replaces memberlist as liveness. */
export function presenceLeaseName(node: string): string {
  return `metallb-speaker-${node}`;
}

/** Outcome of a write: CAS conflicts are normal and reported, not thrown. */
export type WriteResult = CasResult;

/**
 * Read a Lease into the decision's view. `observedAtMs`, when this node saw the record change on
 * its monotonic clock, stands for the holder's renewTime: like client-go's leader election we time
 * expiry from when *we* saw the record change, so neither clock skew between nodes nor a step of
 * our own wall clock can expire a live holder early.
 */
export function leaseView(lease: Lease, observedAtMs: number): LeaseView {
  return {
    holder: lease.spec?.holderIdentity ?? '',
    renewTimeMs: observedAtMs,
    durationMs: (lease.spec?.leaseDurationSeconds ?? 0) * 1000,
  };
}

/** Parse the holder-macs annotation. */
export function holderMacs(lease: Lease): Map<string, string> {
  return macAnnotation(lease, LeaseAnnotation.HolderMacs);
}

/** Parse the node-macs annotation of a presence Lease. */
export function nodeMacs(lease: Lease): Map<string, string> {
  return macAnnotation(lease, LeaseAnnotation.NodeMacs);
}

/** Format `iface -> mac` as an annotation value. */
export function formatMacs(macs: ReadonlyMap<string, string>): string {
  return [...macs].map(([i, m]) => `${i}=${m}`).join(',');
}

/**
 * The renewTime to write: the wall clock, but always after the one it replaces. Other nodes time
 * expiry from when they see the record change, so a renewal must change it: with the wall clock
 * stepped back (NTP, a VM resume) or stuck, a renewal writing the same or an older timestamp
 * would be invisible (an identical update is not even an event), and the live holder would look
 * silent. Only this writer's own values are compared; no decision reads them.
 */
export function nextRenewTime(prev: string | null | undefined, wallNowMs: number): string {
  const prevMs = prev ? Date.parse(prev) : NaN;
  return microTime(Number.isFinite(prevMs) && wallNowMs <= prevMs ? prevMs + 1 : wallNowMs);
}

function macAnnotation(lease: Lease, annotation: string): Map<string, string> {
  const out = new Map<string, string>();
  const raw = lease.metadata?.annotations?.[annotation] ?? '';
  for (const part of raw.split(',')) {
    const [iface, mac] = part.split('=');
    if (iface && mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) out.set(iface, mac);
  }
  return out;
}

/** Writes Leases in one namespace. */
export class LeaseStore {
  private writes = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly durationSec: number,
    /** Owners of the Leases this speaker creates (its DaemonSet, once known); never waits. */
    private readonly owners: () => readonly OwnerReference[] = () => [],
  ) {}

  /** Lease writes issued so far (for the election metrics and the API-cost benchmark). */
  get writeCount(): number {
    return this.writes;
  }

  /**
   * Become (or stay) holder of `name`. With `prev` the update carries its resourceVersion, so it
   * fails with a conflict if anyone wrote in between; without it, the create fails if it exists.
   */
  async claim(name: string, kind: string, holder: string, annotations: Record<string, string>, prev: Lease | undefined): Promise<WriteResult> {
    this.writes++;
    // Wall-clock time: renewTime is a timestamp for people and other tools; the election times
    // expiry from when it saw the record change, on its monotonic clock, and never reads it.
    const now = nextRenewTime(prev?.spec?.renewTime, Date.now());
    const sameHolder = prev?.spec?.holderIdentity === holder;
    const spec = {
      holderIdentity: holder,
      leaseDurationSeconds: this.durationSec,
      renewTime: now,
      acquireTime: sameHolder && prev?.spec?.acquireTime ? prev.spec.acquireTime : now,
      leaseTransitions: (prev?.spec?.leaseTransitions ?? 0) + (sameHolder || !prev ? 0 : 1),
    };
    const labels = { [LeaseLabel.Kind]: kind, [LeaseLabel.ManagedBy]: 'metallb-ts' };
    const owners = this.owners();
    const ownerReferences = owners.length > 0 ? { ownerReferences: [...owners] } : {};
    if (prev) {
      // A Lease written before its owner was known (or by an older version) gains it here.
      const adopt = prev.metadata?.ownerReferences?.length ? {} : ownerReferences;
      const meta = { ...prev.metadata, labels: { ...prev.metadata?.labels, ...labels }, annotations: { ...prev.metadata?.annotations, ...annotations }, ...adopt };
      return updateLease(this.client, { ...prev, metadata: meta }, spec);
    }
    try {
      const lease = await this.client.request<Lease>({
        method: 'POST',
        path: leasePath(this.namespace),
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: this.namespace, labels, annotations, ...ownerReferences }, spec },
      });
      return { ok: true, lease };
    } catch (error) {
      return { ok: false, conflict: isConflict(error), error };
    }
  }

  /**
   * Give the Lease up (holder '') or hand it to `to` directly (graceful handover). CAS as above.
   * The holder MACs are cleared either way: they are ours, and a successor that probed them for
   * the new holder would find nobody answering and take the VIP from a healthy node. The new
   * holder writes its own MACs at once (L2Election).
   */
  async release(prev: Lease, to = ''): Promise<WriteResult> {
    this.writes++;
    const now = nextRenewTime(prev.spec?.renewTime, Date.now());
    const annotations = { ...prev.metadata?.annotations, [LeaseAnnotation.HolderMacs]: '' };
    return updateLease(this.client, { ...prev, metadata: { ...prev.metadata, annotations } }, {
      ...prev.spec,
      holderIdentity: to,
      renewTime: now,
      acquireTime: now,
      leaseTransitions: (prev.spec?.leaseTransitions ?? 0) + 1,
    });
  }

  /** Delete a Lease when its VIP no longer exists anywhere (only with its last resourceVersion). */
  async remove(prev: Lease): Promise<WriteResult> {
    this.writes++;
    return deleteLease(this.client, prev);
  }
}
