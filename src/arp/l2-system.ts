/**
 * The operating-system side of the L2 announcer, behind a small interface so the announcer can be
 * unit tested with in-memory sockets: interface listing (native ioctls, /sys master links,
 * /proc/self/net/if_inet6) and AF_PACKET sockets from the native addon.
 */
import { existsSync, readFileSync } from 'node:fs';
import { macToString } from './addr';
import { parseIfInet6, type InterfaceDescription } from './interfaces';
import { listInterfaces, openPacketSocket } from '../native';

/** What the announcer needs of a packet socket. */
export interface L2Socket {
  readonly ifname: string;
  send(frame: Buffer): void;
  addMembership(mac: Buffer): void;
  dropMembership(mac: Buffer): void;
  close(): void;
}

/** Interface discovery and packet sockets. */
export interface L2System {
  listInterfaces(): InterfaceDescription[];
  /** First IPv6 link-local address per interface name. */
  linkLocalAddresses(): Map<string, string>;
  /** Open a socket on `ifname` that delivers ARP and ICMPv6 NS/NA frames. */
  openPacketSocket(ifname: string, onFrame: (frame: Buffer, pktType: number) => void, onError: (err: Error) => void): L2Socket;
}

function readLinkLocals(): Map<string, string> {
  try {
    // /proc/self/net follows the network namespace of this process (unlike a stale /sys mount).
    return parseIfInet6(readFileSync('/proc/self/net/if_inet6', 'utf8'));
  } catch {
    return new Map(); // IPv6 disabled: the file does not exist
  }
}

/** The real system: native addon plus procfs/sysfs. */
export function defaultL2System(): L2System {
  return {
    listInterfaces() {
      const ll = readLinkLocals();
      return listInterfaces().map((i) => ({
        name: i.name,
        mac: macToString(i.mac),
        flags: i.flags,
        hwType: i.hwType,
        // Bond and bridge ports have a master link; upstream checks the same sysfs path.
        enslaved: existsSync(`/sys/class/net/${i.name}/master`),
        hasIpv6LinkLocal: ll.has(i.name),
      }));
    },
    linkLocalAddresses: readLinkLocals,
    openPacketSocket(ifname, onFrame, onError) {
      return openPacketSocket({ ifname, filter: 'arp-ns', onFrame: (frame, info) => onFrame(frame, info.pktType), onError });
    },
  };
}
