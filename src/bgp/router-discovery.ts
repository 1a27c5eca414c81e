/**
 * Finding the router of an unnumbered (`interface`) peering: its link-local address on the link,
 * learnt from its Router Advertisements as FRR learns its own interface neighbors (FRR enables
 * RAs on an interface neighbor's link, every 10 s). We also send RAs, with router lifetime 0,
 * because that is how FRR learns *our* link-local: until then it shows "Waiting for Peer IPv6
 * LLA" and refuses our connection. The decision (`routerAddressFrom`) is pure; the watcher is the
 * shell around a packet socket and a timer.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { macToString } from '../arp/addr';
import { decodeRouterAdvert, encodeRouterAdvert } from '../arp/ra-codec';
import type { RouterAdvert } from '../arp/ra-codec';
import { openPacketSocket } from '../native';
import type { PacketSocket, PacketSocketOptions } from '../native';
import { errorMessage } from '../util/errors';
import type { Logger } from '../util/log';

/** FRR's RA interval on interface neighbors (BGP_UNNUM_DEFAULT_RA_INTERVAL in bgpd). */
export const DEFAULT_RA_INTERVAL_MS = 10_000;

/**
 * The peer address to dial after an RA: the source with the interface as zone
 * (`fe80::1%eth0`, what net.connect needs), or undefined when it is not news or is our own.
 */
export function routerAddressFrom(current: string | undefined, advert: RouterAdvert, ifname: string, ownMac: string): string | undefined {
  // Our own RAs are not echoed by the packet socket, but a second speaker on the node's link
  // with our MAC would be a loop; either way it is never the router.
  if (advert.sourceMac === ownMac) return undefined;
  const address = `${advert.source}%${ifname}`;
  return address === current ? undefined : address;
}

/** What the watcher needs; all injectable for tests. */
export interface RouterWatchDeps {
  log: Logger;
  openSocket?: (opts: PacketSocketOptions) => Pick<PacketSocket, 'mac' | 'send' | 'close'>;
  interfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  setInterval?: (fn: () => void, ms: number) => { cancel(): void };
  raIntervalMs?: number;
}

/** Our link-local address on `ifname`, without zone. */
function ownLinkLocal(table: NodeJS.Dict<os.NetworkInterfaceInfo[]>, ifname: string): string | undefined {
  return table[ifname]?.find((a) => a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:'))?.address.split('%')[0];
}

/**
 * Watches one link for the router's RAs and announces ourselves. Events: 'router' (zoned
 * link-local address) on the first RA and whenever the router's address changes.
 */
export class RouterWatch extends EventEmitter {
  private socket: Pick<PacketSocket, 'mac' | 'send' | 'close'> | undefined;
  private ticker: { cancel(): void } | undefined;
  private current: string | undefined;

  constructor(
    readonly ifname: string,
    private readonly deps: RouterWatchDeps,
  ) {
    super();
  }

  /** The router's address once known. */
  get router(): string | undefined {
    return this.current;
  }

  /** Open the socket, send our first RA now and then every interval. Throws if the socket cannot open. */
  start(): void {
    const open = this.deps.openSocket ?? openPacketSocket;
    // 'all': RAs go to the all-nodes group, which the addon's ARP/ND filter does not pass.
    const sock = open({
      ifname: this.ifname,
      filter: 'all',
      onFrame: (frame) => this.onFrame(frame),
      onError: (err) => this.deps.log.warn({ event: 'routerWatchError', iface: this.ifname, err: errorMessage(err) }, 'router discovery socket error'),
    });
    this.socket = sock;
    this.advertise();
    const every =
      this.deps.setInterval ??
      ((fn: () => void, ms: number) => {
        const h = setInterval(fn, ms);
        h.unref();
        return { cancel: () => clearInterval(h) };
      });
    this.ticker = every(() => this.advertise(), this.deps.raIntervalMs ?? DEFAULT_RA_INTERVAL_MS);
  }

  /** Idempotent. */
  stop(): void {
    this.ticker?.cancel();
    this.ticker = undefined;
    this.socket?.close();
    this.socket = undefined;
  }

  private advertise(): void {
    const sock = this.socket;
    if (!sock) return;
    const ll = ownLinkLocal((this.deps.interfaces ?? os.networkInterfaces)(), this.ifname);
    if (ll === undefined) {
      this.deps.log.warn({ event: 'noLinkLocal', iface: this.ifname }, 'no IPv6 link-local address on the interface; the router cannot learn ours');
      return;
    }
    const mac = macToString(sock.mac);
    try {
      sock.send(encodeRouterAdvert(mac, ll));
    } catch (err) {
      this.deps.log.warn({ event: 'raSendFailed', iface: this.ifname, err: errorMessage(err) }, 'cannot send our router advertisement');
    }
  }

  private onFrame(frame: Buffer): void {
    const advert = decodeRouterAdvert(frame);
    if (!advert || !this.socket) return;
    const mac = macToString(this.socket.mac);
    const next = routerAddressFrom(this.current, advert, this.ifname, mac);
    if (next === undefined) return;
    this.deps.log.info({ event: 'routerFound', iface: this.ifname, router: next, previous: this.current }, 'router link-local address learnt from its RA');
    this.current = next;
    this.emit('router', next);
  }
}
