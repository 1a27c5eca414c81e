/**
 * L2 candidate ranking: the rendezvous hash that decides, for each VIP, the order in which nodes
 * should own it. It is upstream MetalLB's exact order (docs/upstream-behaviour.md §4.2 step 8):
 * preference score descending, then SHA-256 of `"<node>#<ip>"` ascending as raw bytes. Keeping
 * upstream's order means a cluster that migrates from MetalLB keeps each VIP on the node it was on,
 * and the hash spreads VIPs evenly while moving only the VIPs of a node that leaves (rendezvous
 * hashing). The ranking is pure; who actually owns a VIP is decided by the Lease
 * (docs/architecture.md §7).
 */
import { createHash } from 'node:crypto';

/** SHA-256 of `node#ip`; `ip` must be the canonical text of the service's first ingress IP. */
export function electionKey(nodeName: string, ip: string): Buffer {
  return createHash('sha256').update(`${nodeName}#${ip}`).digest();
}

/**
 * Candidate nodes for `ip`, best first. `scores` holds each node's summed preferred-node weight
 * (missing = 0). Both IPs of a dual-stack Service must be ranked with the same (first) IP so they
 * land on the same node, as upstream does.
 */
export function rankCandidates(nodes: Iterable<string>, ip: string, scores: ReadonlyMap<string, number> = new Map()): string[] {
  const keyed = [...new Set(nodes)].map((node) => ({ node, score: scores.get(node) ?? 0, key: electionKey(node, ip) }));
  keyed.sort((a, b) => b.score - a.score || Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.node);
}

/**
 * The first successor of `holder` for `ip`: the node that watches the holder on the wire and takes
 * over when it dies (docs/architecture.md §7). Undefined when the holder is the only candidate.
 */
export function successorOf(ranked: readonly string[], holder: string): string | undefined {
  const rest = ranked.filter((n) => n !== holder);
  return rest[0];
}
