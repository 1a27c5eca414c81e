/**
 * What the soak observes, from outside the product: which MACs answer ARP (RFC 826) / NDP
 * (RFC 4861 §7.2) for each Service IP as seen by the lab client, which nodes FRR has BGP paths
 * from, the Services' assignments from the apiserver, and process RSS from /proc.
 */
import { readFileSync } from 'node:fs';
import type { Cluster } from '../../test/harness/cluster';
import type { FrrHandle } from '../../test/harness/routers/frr';
import type { ShareView } from './invariants';

/** Parse the probe script's `<ip> <mac>` lines into ip -> distinct MACs (lower case). */
export function parseMacLines(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\s*$/.exec(line.trim());
    if (!m) continue;
    const set = out.get(m[1]!) ?? new Set<string>();
    set.add(m[2]!.toLowerCase());
    out.set(m[1]!, set);
  }
  return out;
}

/**
 * One round of neighbour probes from the client namespace, every IP at once: `arping` (one
 * broadcast request, every reply within 1 s) and `ndisc6 -m` (one multicast NS, every NA within
 * 1 s). Each IP maps to the MACs that answered (empty when nobody did).
 */
export async function probeL2(c: Cluster, ips: readonly string[]): Promise<Map<string, Set<string>>> {
  const client = c.lab.client;
  if (!client || ips.length === 0) return new Map();
  const q = (s: string): string => `'${s.replace(/'/g, '')}'`;
  const parts = ips.map((ip) =>
    ip.includes(':')
      ? `( ndisc6 -m -n -r 1 -w 1000 ${q(ip)} ${client.iface} 2>/dev/null | sed -n 's/.*Target link-layer address: *\\([0-9A-Fa-f:]*\\).*/${ip} \\1/p' ) &`
      : `( arping -c 2 -w 1 -I ${client.iface} ${q(ip)} 2>/dev/null | sed -n 's/.*reply from [^ ]* \\[\\([0-9A-Fa-f:]*\\)\\].*/${ip} \\1/p' ) &`,
  );
  const r = await c.lab.exec(client.ns, ['bash', '-c', `${parts.join('\n')}\nwait`], { timeoutMs: 15_000 });
  const seen = parseMacLines(r.stdout);
  return new Map(ips.map((ip) => [ip, seen.get(ip) ?? new Set<string>()]));
}

/** ip -> node names that FRR holds a valid path from (both families' tables). */
export async function probeBgp(frr: FrrHandle, nodeByPeer: ReadonlyMap<string, string>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const family of ['ipv4', 'ipv6'] as const) {
    const table = await frr.bgpTable(family);
    for (const [prefix, paths] of Object.entries(table)) {
      const ip = prefix.replace(/\/(32|128)$/, '');
      const nodes = new Set<string>();
      for (const p of paths) if (p.valid !== false && p.peerId) nodes.add(nodeByPeer.get(p.peerId) ?? p.peerId);
      out.set(ip, nodes);
    }
  }
  return out;
}

interface ServiceItem {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { ports?: Array<{ port?: number; protocol?: string }>; externalTrafficPolicy?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

/** A Service as the invariants see it: sharing view plus the pool the controller says it used. */
export interface ServiceView extends ShareView {
  readonly pool: string;
}

/** Every Service of `namespace` with its ingress IPs. */
export async function listServices(c: Cluster, namespace: string): Promise<ServiceView[]> {
  const list = (await c.core.listNamespacedService({ namespace })) as { items: ServiceItem[] };
  return list.items.map((s) => {
    const a = s.metadata?.annotations ?? {};
    return {
      key: `${s.metadata?.namespace ?? namespace}/${s.metadata?.name ?? ''}`,
      sharingKey: a['metallb.io/allow-shared-ip'] ?? '',
      ports: (s.spec?.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port ?? 0}`),
      externalTrafficPolicy: s.spec?.externalTrafficPolicy ?? 'Cluster',
      ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean),
      pool: a['metallb.io/ip-allocated-from-pool'] ?? '',
    };
  });
}

/** Resident set size of a PID in MB, or undefined once it is gone. */
export function rssMB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
