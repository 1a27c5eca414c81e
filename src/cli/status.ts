/**
 * `metallb-ts status`: what the speakers say right now, read-only from the apiserver. Per L2 VIP,
 * its holder, the MACs it answers with and since when (the VIP Leases, src/speaker/lease-store.ts);
 * per node and BGPPeer, the session state (the BGPSessionState objects, docs/bgp.md "Session
 * state"). Plain tables, or `--output json`. Exit codes: 0 read, 2 the apiserver could not be read.
 */
import type { KubeObject } from '../k8s/informer';
import type { Lease } from '../k8s/lease';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../k8s/client';
import { errorMessage } from '../util/errors';
import { holderMacs, LeaseAnnotation, LeaseKind, LeaseLabel } from '../speaker/lease-store';
import type { SessionStateBody } from '../speaker/session-states';

/** One VIP Lease as shown. */
export interface VipRow {
  readonly ip: string;
  /** '' while released (a graceful handover in progress, or no node eligible). */
  readonly holder: string;
  /** `iface=mac` of the holder. */
  readonly macs: string[];
  /** When the holder took it (the Lease's acquireTime), RFC 3339. */
  readonly since?: string;
}

/** One BGPSessionState as shown. */
export type SessionRow = Partial<SessionStateBody> & { readonly name: string };

/** Everything the command prints. */
export interface StatusReport {
  readonly namespace: string;
  readonly vips: VipRow[];
  readonly sessions: SessionRow[];
}

/** Exit codes of the command. */
export const StatusExit = { Ok: 0, ApiError: 2 } as const;

/** Output formats. */
export const StatusOutput = { Table: 'table', Json: 'json' } as const;
export type StatusOutput = (typeof StatusOutput)[keyof typeof StatusOutput];

/** The VIP rows of our VIP Leases, sorted by IP. */
export function vipRows(leases: readonly Lease[]): VipRow[] {
  return leases
    .filter((l) => l.metadata?.labels?.[LeaseLabel.Kind] === LeaseKind.Vip)
    .map((l) => ({
      ip: l.metadata?.annotations?.[LeaseAnnotation.Ip] ?? l.metadata?.name ?? '',
      holder: l.spec?.holderIdentity ?? '',
      macs: [...holderMacs(l)].map(([iface, mac]) => `${iface}=${mac}`),
      ...(l.spec?.acquireTime ? { since: String(l.spec.acquireTime) } : {}),
    }))
    .sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
}

/** The session rows, sorted by node then BGPPeer. */
export function sessionRows(objects: readonly (KubeObject & { status?: Partial<SessionStateBody> })[]): SessionRow[] {
  return objects
    .map((o) => ({ name: o.metadata?.name ?? '', ...o.status }))
    .sort((a, b) => (a.node ?? '').localeCompare(b.node ?? '') || (a.bgpPeer ?? '').localeCompare(b.bgpPeer ?? ''));
}

/** kubectl-style age: 45s, 12m, 5h, 3d; '' for no or an unparsable timestamp. */
export function age(timestamp: string | undefined, nowMs: number): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.floor((nowMs - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 3 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Left-aligned columns, three spaces apart, as kubectl prints; empty cells as `<none>`. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = [header, ...rows.map((r) => r.map((c) => c || '<none>'))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join(''));
}

/** The report as lines: the VIP table, a blank line, the session table. */
export function formatStatus(report: StatusReport, nowMs: number): string[] {
  const out: string[] = [];
  if (report.vips.length === 0) out.push(`No L2 VIP Leases in ${report.namespace}.`);
  else out.push(...table(['VIP', 'HOLDER', 'MAC', 'AGE'], report.vips.map((v) => [v.ip, v.holder, v.macs.join(','), age(v.since, nowMs)])));
  out.push('');
  if (report.sessions.length === 0) out.push(`No BGPSessionStates in ${report.namespace}.`);
  else {
    out.push(
      ...table(
        ['NODE', 'PEER', 'ADDRESS', 'BGP', 'BFD', 'UP', 'LAST ERROR'],
        report.sessions.map((s) => [s.node ?? '', s.bgpPeer ?? s.name, s.peer ?? '', s.bgpStatus ?? '', s.bfdStatus ?? '', age(s.establishedSince, nowMs), s.lastError ?? '']),
      ),
    );
  }
  return out;
}

/** Read the report from the apiserver. */
export async function readStatus(client: KubeClient, namespace: string): Promise<StatusReport> {
  const ns = encodeURIComponent(namespace);
  const [leases, sessions] = await Promise.all([
    client.list<Lease>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, { labelSelector: `${LeaseLabel.Kind}=${LeaseKind.Vip}` }),
    client.list<KubeObject & { status?: Partial<SessionStateBody> }>(`/apis/metallb.io/v1beta1/namespaces/${ns}/bgpsessionstates`),
  ]);
  return { namespace, vips: vipRows(leases.items), sessions: sessionRows(sessions.items) };
}

/** Options of {@link runStatus}. */
export interface StatusOptions {
  readonly namespace: string;
  readonly output: StatusOutput;
  readonly kubeconfig?: string;
}

/** The command: read, print, return the exit code. */
export async function runStatus(opts: StatusOptions, io: { stdout: (s: string) => void; stderr: (s: string) => void }, nowMs: () => number = Date.now): Promise<number> {
  let report: StatusReport;
  let client: KubeClient | undefined;
  try {
    client = createKubeClient(loadKubeConfig(opts.kubeconfig), { userAgent: 'metallb-ts-status' });
    report = await readStatus(client, opts.namespace);
  } catch (err) {
    io.stderr(`metallb-ts status: cannot read from the apiserver: ${errorMessage(err)}`);
    return StatusExit.ApiError;
  } finally {
    // Idle keep-alive sockets would hold the process open.
    client?.close();
  }
  if (opts.output === StatusOutput.Json) io.stdout(JSON.stringify(report, null, 2));
  else for (const l of formatStatus(report, nowMs())) io.stdout(l);
  return StatusExit.Ok;
}
