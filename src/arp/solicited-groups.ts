/**
 * Solicited-node group membership of one packet socket, reference-counted: VIPs whose low 24 bits
 * agree share a group, and the group is left only when the last of them goes. The socket joins
 * both the group's MAC (its filter) and the group address at the IP layer (MLD), see l2-system.ts.
 */
import { macToBytes } from './addr';
import type { L2Socket } from './l2-system';
import type { Logger } from '../util/log';

/** A VIP's solicited-node group (RFC 4291 §2.7.1): its MAC and address. */
export interface SolicitedNodeGroup {
  mac: string;
  address: string;
}

/** Counts by group MAC: the MAC and the address are both the VIP's low 24 bits, so they pair 1:1. */
export type GroupCounts = Map<string, number>;

export function joinGroup(counts: GroupCounts, sock: L2Socket, g: SolicitedNodeGroup, log: Logger): void {
  const n = counts.get(g.mac) ?? 0;
  if (n === 0) {
    try {
      sock.addMembership(macToBytes(g.mac), g.address);
    } catch (err) {
      // Without the group, NS for the VIP may never arrive; still serve what does arrive.
      log.warn({ err, iface: sock.ifname, group: g.address }, 'cannot join solicited-node group');
    }
  }
  counts.set(g.mac, n + 1);
}

export function leaveGroup(counts: GroupCounts, sock: L2Socket, g: SolicitedNodeGroup, log: Logger): void {
  const n = counts.get(g.mac) ?? 0;
  if (n > 1) {
    counts.set(g.mac, n - 1);
    return;
  }
  counts.delete(g.mac);
  try {
    sock.dropMembership(macToBytes(g.mac), g.address);
  } catch (err) {
    log.debug({ err, iface: sock.ifname, group: g.address }, 'cannot leave solicited-node group');
  }
}
