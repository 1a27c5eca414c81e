/**
 * Typed wrapper over the native addon (native/*.c): what Node cannot do itself. AF_PACKET sockets
 * for ARP/NDP, TCP_MD5SIG and TTL on BGP sockets, interface lookup, UDP receive with the TTL. Every native error is rethrown
 * as MetalLbError(Native) with `details.errno` set to the errno name (EPERM, ENODEV, ...).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCode, MetalLbError } from '../util/errors';

interface RawAddon {
  packetOpen(ifindex: number, filter: string, onFrame: (err: Error | null, frame: Buffer | null, pktType: number | null) => void): object;
  packetSend(handle: object, frame: Buffer): number;
  packetAddMembership(handle: object, ifindex: number, mac: Buffer): void;
  packetDropMembership(handle: object, ifindex: number, mac: Buffer): void;
  packetRef(handle: object, ref: boolean): void;
  packetClose(handle: object): void;
  createTcpSocket(family: number, localAddress: string | null, ttl: number, md5: Array<[string, string]>): number;
  setTcpMd5(fd: number, peer: string, key: string): void;
  setIpTtl(fd: number, family: number, ttl: number): void;
  interfaceInfo(name: string): { name: string; index: number; flags: number; hwType: number; mac: Buffer };
  listInterfaces(): string[];
  udpOpen(
    family: number,
    address: string | null,
    port: number,
    onPacket: (err: Error | null, payload: Buffer | null, srcAddress: string | null, srcPort: number | null, ttl: number | null) => void,
  ): object;
  udpLocalPort(handle: object): number;
  udpRef(handle: object, ref: boolean): void;
  udpClose(handle: object): void;
}

const ADDON_FILE = join('native', 'build', 'Release', 'metallb_native.node');

/** Find the package root: src/native (tsx) and dist/src/native (compiled) sit at different depths. */
function findAddonPath(): string {
  for (const up of ['../..', '../../..']) {
    const candidate = resolve(__dirname, up, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
  }
  throw new MetalLbError(ErrorCode.Native, `native addon not built: ${ADDON_FILE} not found (run npm run build:native)`, {
    errno: 'ENOENT',
  });
}

let loaded: RawAddon | undefined;
/** Load lazily so pure modules that import this file's types never need the compiled addon. */
function addon(): RawAddon {
  if (!loaded) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(findAddonPath()) as RawAddon;
  }
  return loaded;
}

function nativeCall<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MetalLbError) throw err;
    const e = err as Error & { code?: string };
    throw new MetalLbError(ErrorCode.Native, `${what}: ${e.message}`, { errno: e.code ?? 'EUNKNOWN' });
  }
}

/** IFF_LOOPBACK from <net/if.h>. */
const IFF_LOOPBACK = 0x8;
/** ARPHRD_ETHER: interfaces whose link layer is Ethernet. */
export const ARPHRD_ETHER = 1;

/** What the kernel says about one network interface. */
export interface InterfaceInfo {
  name: string;
  index: number;
  /** 6 bytes; all zero on interfaces without a link-layer address. */
  mac: Buffer;
  flags: number;
  /** ARPHRD_* link type; ARPHRD_ETHER (1) for Ethernet and veth. */
  hwType: number;
  isLoopback: boolean;
}

/** Look up one interface by name in the current network namespace. */
export function interfaceInfo(name: string): InterfaceInfo {
  const raw = nativeCall(`interface ${JSON.stringify(name)}`, () => addon().interfaceInfo(name));
  return { ...raw, isLoopback: (raw.flags & IFF_LOOPBACK) !== 0 };
}

/** Every interface of the current network namespace. */
export function listInterfaces(): InterfaceInfo[] {
  const names = nativeCall('list interfaces', () => addon().listInterfaces());
  const out: InterfaceInfo[] = [];
  for (const name of names) {
    try {
      out.push(interfaceInfo(name));
    } catch {
      // An interface can vanish between the listing and the lookup; it is simply not there.
    }
  }
  return out;
}

/** Linux PACKET_* frame types as reported with each received frame. */
export const PacketType = { Host: 0, Broadcast: 1, Multicast: 2, OtherHost: 3, Outgoing: 4 } as const;

/** Per-frame metadata from the kernel. */
export interface FrameInfo {
  pktType: number;
}

/** An AF_PACKET socket bound to one interface. */
export interface PacketSocket {
  readonly ifname: string;
  readonly ifindex: number;
  readonly mac: Buffer;
  /** Send one whole Ethernet frame (non-blocking; throws MetalLbError(Native) e.g. errno EAGAIN). */
  send(frame: Buffer): void;
  /** Receive frames sent to this multicast MAC (e.g. an IPv6 solicited-node group). */
  addMembership(mac: Buffer): void;
  dropMembership(mac: Buffer): void;
  /** Whether the open socket keeps the process alive (default true). */
  ref(keepAlive: boolean): void;
  /** Idempotent. */
  close(): void;
}

/**
 * Runs one delivery from a polled native socket: a native error goes to onError as
 * MetalLbError(Native), and a handler that throws costs one frame or datagram, never the process
 * (an exception here would otherwise surface as a fatal exception from the native callback).
 */
function guardDelivery(where: string, err: Error | null, onError: ((err: Error) => void) | undefined, deliver: () => void): void {
  if (err) {
    onError?.(new MetalLbError(ErrorCode.Native, `${where}: ${err.message}`, { errno: (err as Error & { code?: string }).code }));
    return;
  }
  try {
    deliver();
  } catch (e) {
    onError?.(e instanceof Error ? e : new Error(String(e)));
  }
}

/** ref/close of a polled native socket: close is idempotent and ref does nothing once closed. */
function pollLifecycle(ref: (keepAlive: boolean) => void, close: () => void): { ref(keepAlive: boolean): void; close(): void } {
  let closed = false;
  return {
    ref(keepAlive) {
      if (!closed) ref(keepAlive);
    },
    close() {
      if (closed) return;
      closed = true;
      close();
    },
  };
}

/** Options for openPacketSocket. */
export interface PacketSocketOptions {
  ifname: string;
  /** 'arp-ns' (default): only ARP and ICMPv6 NS/NA reach JavaScript; 'all': every frame. */
  filter?: 'arp-ns' | 'all';
  onFrame: (frame: Buffer, info: FrameInfo) => void;
  onError?: (err: Error) => void;
}

/** Open a non-blocking AF_PACKET socket watched by uv_poll; our own transmissions are not echoed back. */
export function openPacketSocket(opts: PacketSocketOptions): PacketSocket {
  const info = interfaceInfo(opts.ifname);
  const { onFrame, onError } = opts;
  const where = `packet socket on ${opts.ifname}`;
  const handle = nativeCall(where, () =>
    addon().packetOpen(info.index, opts.filter ?? 'arp-ns', (err, frame, pktType) =>
      guardDelivery(where, err, onError, () => {
        if (frame) onFrame(frame, { pktType: pktType ?? 0 });
      }),
    ),
  );
  return {
    ...pollLifecycle(
      (keepAlive) => addon().packetRef(handle, keepAlive),
      () => addon().packetClose(handle),
    ),
    ifname: opts.ifname,
    ifindex: info.index,
    mac: info.mac,
    send(frame) {
      nativeCall(`send on ${opts.ifname}`, () => addon().packetSend(handle, frame));
    },
    addMembership(mac) {
      nativeCall(`join ${mac.toString('hex')} on ${opts.ifname}`, () => addon().packetAddMembership(handle, info.index, mac));
    },
    dropMembership(mac) {
      nativeCall(`leave ${mac.toString('hex')} on ${opts.ifname}`, () => addon().packetDropMembership(handle, info.index, mac));
    },
  };
}

/** Options applied to a TCP socket before it connects. */
export interface TcpSocketOptions {
  family: 4 | 6;
  localAddress?: string;
  /** IP TTL / IPv6 hop limit; omitted = kernel default. */
  ttl?: number;
  /** RFC 2385 keys; key material is never logged. */
  md5?: Array<{ peer: string; key: string }>;
}

/**
 * A non-blocking TCP socket fd with options already applied. Wrap it with
 * `new net.Socket({ fd, readable: true, writable: true }).connect(port, host)`: libuv connects
 * the existing fd, so the first SYN carries the MD5 option.
 */
export function createTcpSocketFd(opts: TcpSocketOptions): number {
  const md5 = (opts.md5 ?? []).map((m): [string, string] => [m.peer, m.key]);
  return nativeCall('create TCP socket', () => addon().createTcpSocket(opts.family, opts.localAddress ?? null, opts.ttl ?? 0, md5));
}

/** Set (or with '' remove) the TCP MD5 key for one peer on a socket. */
export function setTcpMd5(fd: number, peer: string, key: string): void {
  nativeCall(`TCP MD5 for ${peer}`, () => addon().setTcpMd5(fd, peer, key));
}

/** Set IP_TTL (IPv4) or IPV6_UNICAST_HOPS (IPv6). */
export function setIpTtl(fd: number, family: 4 | 6, ttl: number): void {
  nativeCall(`TTL ${ttl}`, () => addon().setIpTtl(fd, family, ttl));
}

/** One received datagram and what the kernel said about it. */
export interface UdpDatagram {
  payload: Buffer;
  srcAddress: string;
  srcPort: number;
  /** IP TTL or IPv6 hop limit as received; -1 when the kernel reported none. */
  ttl: number;
}

/** A receive-only UDP socket that reports each datagram's TTL. */
export interface UdpTtlSocket {
  readonly family: 4 | 6;
  /** The bound port (the chosen one when opened with port 0). */
  readonly port: number;
  ref(keepAlive: boolean): void;
  /** Idempotent. */
  close(): void;
}

/** Options for openUdpTtlSocket. */
export interface UdpTtlSocketOptions {
  family: 4 | 6;
  /** Local address to bind; default the wildcard. */
  address?: string;
  port: number;
  onDatagram: (d: UdpDatagram) => void;
  onError?: (err: Error) => void;
}

/**
 * Open a non-blocking UDP socket (IP_RECVTTL / IPV6_RECVHOPLIMIT, watched by uv_poll) for
 * BFD's TTL checks: Linux applies IP_MINTTL to TCP only, so the TTL must be read per datagram.
 */
export function openUdpTtlSocket(opts: UdpTtlSocketOptions): UdpTtlSocket {
  const { onDatagram, onError } = opts;
  const where = `UDP socket udp${opts.family} ${opts.address ?? '*'}:${opts.port}`;
  const handle = nativeCall(where, () =>
    addon().udpOpen(opts.family, opts.address ?? null, opts.port, (err, payload, srcAddress, srcPort, ttl) =>
      guardDelivery(where, err, onError, () => {
        if (payload && srcAddress !== null) onDatagram({ payload, srcAddress, srcPort: srcPort ?? 0, ttl: ttl ?? -1 });
      }),
    ),
  );
  const port = nativeCall(where, () => addon().udpLocalPort(handle));
  return {
    family: opts.family,
    port,
    ...pollLifecycle(
      (keepAlive) => addon().udpRef(handle, keepAlive),
      () => addon().udpClose(handle),
    ),
  };
}
