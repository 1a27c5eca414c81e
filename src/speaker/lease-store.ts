/**
 * The Lease writes of the L2 election (DESIGN.md §5): one coordination.k8s.io/v1 Lease per VIP
 * and one presence Lease per speaker, in the release namespace. Every ownership change is an
 * optimistic-concurrency write (create, or update carrying the resourceVersion we last saw), so
 * two speakers can never both believe a write of theirs made them the holder. Reads come from
 * the speaker's one Lease informer; this file only writes.
 */
import * as k8s from '@kubernetes/client-node';
import type { LeaseView } from './lease-decision';

/** Labels and annotations on our Leases. */
export const LeaseLabel = {
  Kind: 'metallb.io/lease-kind',
  ManagedBy: 'app.kubernetes.io/managed-by',
} as const;
export const LeaseKind = { Vip: 'vip', Presence: 'speaker' } as const;
export const LeaseAnnotation = {
  Ip: 'metallb.io/ip',
  /** `iface=mac,iface=mac` of the holder: what the successor probes (DESIGN.md §5). */
  HolderMacs: 'metallb.io/holder-macs',
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
export type WriteResult = { readonly ok: true; readonly lease: k8s.V1Lease } | { readonly ok: false; readonly conflict: boolean; readonly error: unknown };

function isConflict(err: unknown): boolean {
  const code = (err as { code?: number; statusCode?: number }).code ?? (err as { statusCode?: number }).statusCode;
  return code === 409 || code === 422 || /409|Conflict|AlreadyExists/.test(String(err));
}

/**
 * MicroTime as the API server parses it (six fractional digits). client-node sends a Date with
 * toISOString()'s three digits, which the server rejects; a string passes through untouched.
 */
function microTime(d: Date): k8s.V1MicroTime {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as k8s.V1MicroTime;
}

/** Read a Lease object into the decision's view. */
export function leaseView(lease: k8s.V1Lease): LeaseView {
  const renew = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  return {
    holder: lease.spec?.holderIdentity ?? '',
    renewTimeMs: renew ? new Date(renew).getTime() : 0,
    durationMs: (lease.spec?.leaseDurationSeconds ?? 0) * 1000,
  };
}

/** Parse the holder-macs annotation. */
export function holderMacs(lease: k8s.V1Lease): Map<string, string> {
  const out = new Map<string, string>();
  const raw = lease.metadata?.annotations?.[LeaseAnnotation.HolderMacs] ?? '';
  for (const part of raw.split(',')) {
    const [iface, mac] = part.split('=');
    if (iface && mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) out.set(iface, mac);
  }
  return out;
}

/** Writes Leases in one namespace with one API client. */
export class LeaseStore {
  private readonly api: k8s.CoordinationV1Api;
  private readonly writes = { count: 0 };

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly durationSec: number,
  ) {
    this.api = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  }

  /** Lease writes issued so far (for the election metrics and the API-cost benchmark). */
  get writeCount(): number {
    return this.writes.count;
  }

  private body(name: string, kind: string, holder: string, annotations: Record<string, string>, prev?: k8s.V1Lease): k8s.V1Lease {
    const now = microTime(new Date());
    const sameHolder = prev?.spec?.holderIdentity === holder;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: this.namespace,
        ...(prev?.metadata?.resourceVersion ? { resourceVersion: prev.metadata.resourceVersion } : {}),
        labels: { ...(prev?.metadata?.labels ?? {}), [LeaseLabel.Kind]: kind, [LeaseLabel.ManagedBy]: 'metallb-ts' },
        annotations: { ...(prev?.metadata?.annotations ?? {}), ...annotations },
      },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: this.durationSec,
        renewTime: now,
        acquireTime: sameHolder && prev?.spec?.acquireTime ? microTime(new Date(prev.spec.acquireTime)) : now,
        leaseTransitions: (prev?.spec?.leaseTransitions ?? 0) + (sameHolder || !prev ? 0 : 1),
      },
    };
  }

  /**
   * Become (or stay) holder of `name`. With `prev` the update carries its resourceVersion, so it
   * fails with a conflict if anyone wrote in between; without it, the create fails if it exists.
   */
  async claim(name: string, kind: string, holder: string, annotations: Record<string, string>, prev: k8s.V1Lease | undefined): Promise<WriteResult> {
    this.writes.count++;
    try {
      const body = this.body(name, kind, holder, annotations, prev);
      const lease = prev
        ? await this.api.replaceNamespacedLease({ name, namespace: this.namespace, body })
        : await this.api.createNamespacedLease({ namespace: this.namespace, body });
      return { ok: true, lease };
    } catch (error) {
      return { ok: false, conflict: isConflict(error), error };
    }
  }

  /** Give the Lease up (holder '') or hand it to `to` directly (graceful handover). CAS as above. */
  async release(prev: k8s.V1Lease, to = ''): Promise<WriteResult> {
    const name = prev.metadata?.name ?? '';
    this.writes.count++;
    try {
      const body = this.body(name, prev.metadata?.labels?.[LeaseLabel.Kind] ?? LeaseKind.Vip, to, to ? {} : { [LeaseAnnotation.HolderMacs]: '' }, prev);
      if (!to) body.spec = { ...body.spec, holderIdentity: '' };
      const lease = await this.api.replaceNamespacedLease({ name, namespace: this.namespace, body });
      return { ok: true, lease };
    } catch (error) {
      return { ok: false, conflict: isConflict(error), error };
    }
  }

  /** Delete a VIP's Lease when the VIP no longer exists anywhere (only with its last resourceVersion). */
  async remove(prev: k8s.V1Lease): Promise<WriteResult> {
    const name = prev.metadata?.name ?? '';
    this.writes.count++;
    try {
      await this.api.deleteNamespacedLease({
        name,
        namespace: this.namespace,
        body: { preconditions: { resourceVersion: prev.metadata?.resourceVersion ?? '' } },
      });
      return { ok: true, lease: prev };
    } catch (error) {
      return { ok: false, conflict: isConflict(error), error };
    }
  }
}
