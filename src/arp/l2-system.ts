/**
 * The operating-system side of the L2 announcer, behind a small interface so the announcer can be
 * unit tested with in-memory sockets: interface listing (native ioctls, /sys master links,
 * /proc/self/net/if_inet6), AF_PACKET sockets from the native addon, and IPv6 multicast group
 * membership at the IP layer through Node's own dgram.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { macToString } from './addr';
import { parseIfInet6, type InterfaceDescription } from './interfaces';
import type { Announcement } from './responder';
import { listInterfaces, openPacketSocket } from '../native';
import { ErrorCode, MetalLbError } from '../util/errors';

/** An interface as the system lists it. */
export interface SystemInterface extends InterfaceDescription {
  /**
   * Kernel ifindex. A name can come back on a new interface (deleted and re-created, same MAC);
   * only the index tells them apart. Absent where the system cannot tell (in-memory fakes).
   */
  index?: number;
}

/** What the announcer needs of a packet socket. */
export interface L2Socket {
  readonly ifname: string;
  /** The ifindex the socket is bound to (absent: unknown, as for `SystemInterface.index`). */
  readonly ifindex?: number;
  send(frame: Buffer): void;
  /**
   * Join an IPv6 solicited-node group on this interface: its MAC `mac` on this socket, and the
   * group address `group` at the IP layer, so the kernel sends MLD reports for it.
   */
  addMembership(mac: Buffer, group: string): void;
  dropMembership(mac: Buffer, group: string): void;
  close(): void;
}

/** Interface discovery and packet sockets. */
export interface L2System {
  listInterfaces(): SystemInterface[];
  /** First IPv6 link-local address per interface name. */
  linkLocalAddresses(): Map<string, string>;
  /**
   * Whether `ifname` has carrier (its link is up), undefined when the system cannot tell. A
   * probe sent on a link without carrier cannot be answered, so its silence is no evidence.
   */
  hasCarrier?(ifname: string): boolean | undefined;
  /**
   * Open a socket on `ifname` that delivers ARP and ICMPv6 NS/NA frames. `answered` is set when
   * the system answered the frame itself (see `answer`): true when the reply went out, false when
   * sending it failed; the announcer then only counts.
   */
  openPacketSocket(ifname: string, onFrame: (frame: Buffer, pktType: number, answered?: boolean) => void, onError: (err: Error) => void): L2Socket;
  /**
   * Present when the system answers requests itself, off the main event loop (responder-thread.ts):
   * the announcer passes what it announces, and the MACs of this node, after every change.
   */
  answer?(announced: ReadonlyMap<string, Announcement>, ownMacs: ReadonlySet<string>): void;
}

function readLinkLocals(): Map<string, string> {
  try {
    // /proc/self/net follows the network namespace of this process (unlike a stale /sys mount).
    return parseIfInet6(readFileSync('/proc/self/net/if_inet6', 'utf8'));
  } catch {
    return new Map(); // IPv6 disabled: the file does not exist
  }
}

/** Run both steps even if the first throws, then throw the first error: one failed layer must not skip the other. */
export function both(first: () => void, second: () => void): void {
  let failure: unknown;
  try {
    first();
  } catch (err) {
    failure = err;
  }
  try {
    second();
  } catch (err) {
    failure ??= err;
  }
  if (failure !== undefined) throw failure;
}

/**
 * IPv6 group membership at the IP layer on one interface (IPV6_JOIN_GROUP via dgram, as upstream's
 * ndp.go Watch calls conn.JoinGroup). PACKET_MR_MULTICAST on the packet socket only programs the
 * NIC's MAC filter; without an IP-layer join the kernel sends no MLD report, and behind an MLD
 * snooping switch or bridge with a querier the NS for a VIP never reaches this node (RFC 4861
 * §7.2.1: a node joins the solicited-node group of each address it answers for).
 *
 * One UDP socket per interface, created on the first join and closed with the packet socket:
 * - its lifetime is the interface's, so closing it on interface loss or re-creation drops exactly
 *   that interface's memberships (the kernel sends MLD Done), with no stale (group, ifindex) pair
 *   left on a shared socket to collide (EADDRINUSE) with a later join on a reused index;
 * - the kernel charges each socket's group list to that socket's option memory
 *   (net.core.optmem_max, ~64 bytes a group), so VIPs times interfaces never share one budget.
 * The socket is never bound: libuv binds it to [::]:0 for the join, and it is never read (no
 * 'message' listener, no receive started), so it costs one unused ephemeral port.
 */
export function ipMembership(ifname: string, onError: (err: Error) => void): { join(group: string): void; leave(group: string): void; close(): void } {
  let udp: UdpSocket | undefined;
  // '::%ifname': Node passes the zone's ifindex as ipv6mr_interface. If the name vanished just
  // now, the zone resolves to 0 and the kernel picks a route's interface; the next rescan sees the
  // interface gone or re-created and closes this socket, which drops that stray membership.
  const iface = `::%${ifname}`;
  const wrap = (what: string, group: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new MetalLbError(ErrorCode.Native, `${what} ${group} on ${ifname}: ${e.message}`, { errno: e.code ?? 'EUNKNOWN' });
    }
  };
  return {
    join(group) {
      if (udp === undefined) {
        udp = createSocket({ type: 'udp6' });
        udp.on('error', onError);
        udp.unref();
      }
      const s = udp;
      wrap('join', group, () => s.addMembership(group, iface));
    },
    leave(group) {
      const s = udp;
      if (s !== undefined) wrap('leave', group, () => s.dropMembership(group, iface));
    },
    close() {
      udp?.close();
      udp = undefined;
    },
  };
}

/** The real system: native addon plus procfs/sysfs. */
export function defaultL2System(): L2System {
  return {
    listInterfaces() {
      const ll = readLinkLocals();
      return listInterfaces().map((i) => ({
        name: i.name,
        index: i.index,
        mac: macToString(i.mac),
        flags: i.flags,
        hwType: i.hwType,
        // Bond and bridge ports have a master link; upstream checks the same sysfs path.
        enslaved: existsSync(`/sys/class/net/${i.name}/master`),
        hasIpv6LinkLocal: ll.has(i.name),
      }));
    },
    linkLocalAddresses: readLinkLocals,
    hasCarrier(ifname) {
      // sysfs answers '1' or '0', and EINVAL while the interface is administratively down.
      try {
        return readFileSync(`/sys/class/net/${ifname}/carrier`, 'utf8').trim() === '1';
      } catch {
        return existsSync(`/sys/class/net/${ifname}`) ? false : undefined;
      }
    },
    openPacketSocket(ifname, onFrame, onError) {
      const sock = openPacketSocket({ ifname, filter: 'arp-ns', onFrame: (frame, info) => onFrame(frame, info.pktType), onError });
      const ip = ipMembership(ifname, onError);
      return {
        ifname,
        ifindex: sock.ifindex,
        send: (frame) => sock.send(frame),
        // The packet-socket membership stays: it is what this socket's MAC filter sees, whatever
        // happens to the IP-layer join.
        addMembership: (mac, group) => both(() => sock.addMembership(mac), () => ip.join(group)),
        dropMembership: (mac, group) => both(() => sock.dropMembership(mac), () => ip.leave(group)),
        close() {
          ip.close();
          sock.close();
        },
      };
    },
  };
}
