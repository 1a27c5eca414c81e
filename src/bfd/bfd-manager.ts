/**
 * The BFD sessions of one process and their sockets (RFC 5881 single-hop, RFC 5883 multihop).
 *
 * - Receive: one socket per (family, hop mode) on port 3784 (single-hop) or 4784 (multihop),
 *   opened through the native addon because the GTSM check needs each datagram's TTL: single-hop
 *   accepts only TTL 255 (RFC 5881 §5), multihop at least the session's minimumTtl (RFC 5883 §5).
 * - Demultiplex by Your Discriminator, or by source address when it is 0 (RFC 5880 §6.3, §6.8.6).
 * - Send: one Node dgram socket per session, TTL 255, bound to a source port in 49152-65535 that
 *   no other session uses (RFC 5881 §4).
 * Every discarded datagram is counted by reason, so a wrong TTL or an unknown peer is visible.
 */
import dgram from 'node:dgram';
import { decode, DiscardCode } from './codec';
import { BFD_TTL, ttlRefusal } from './gtsm';
import { BfdSession } from './bfd-session';
import type { BfdSessionConfig, BfdSessionStatus } from './bfd-session';
import { openUdpTtlSocket } from '../native';
import type { UdpDatagram, UdpTtlSocket } from '../native';
import { ErrorCode, errorMessage, MetalLbError } from '../util/errors';
import type { Logger } from '../util/log';
import { formatIp, parseIp } from '../net/ip';

/** RFC 5881 §4 and RFC 5883 §5 destination ports. */
export const BFD_SINGLE_HOP_PORT = 3784;
export const BFD_MULTIHOP_PORT = 4784;
/** RFC 5881 §4: source ports for Control packets. */
export const SOURCE_PORT_MIN = 49152;
export const SOURCE_PORT_MAX = 65535;
export { BFD_TTL } from './gtsm';

/** Discards decided by the manager, beside the codec's DiscardCode. */
export const DemuxDiscard = {
  /** TTL below 255 (single-hop) or below minimumTtl (multihop), or not reported. */
  Ttl: 'ttl',
  /** Your Discriminator names no session of ours. */
  UnknownDiscriminator: 'unknownDiscriminator',
  /** Your Discriminator 0 from an address we have no session with. */
  NoSession: 'noSession',
  /** The discriminator's session belongs to another peer address or hop mode. */
  AddressMismatch: 'addressMismatch',
} as const;
export type DemuxDiscard = (typeof DemuxDiscard)[keyof typeof DemuxDiscard];

/** Every reason a datagram can be discarded. */
export type DiscardReason = DiscardCode | DemuxDiscard;

/** Options for a manager; the ports are for tests, which cannot all bind 3784 on one host. */
export interface BfdManagerOptions {
  log: Logger;
  random?: () => number;
  /** Ports we listen on. Default 3784 / 4784. 0 binds any free port (tests). */
  listenPorts?: { singleHop: number; multihop: number };
  /** Ports peers listen on. Default 3784 / 4784. */
  peerPorts?: { singleHop: number; multihop: number };
  /** Bind the receive sockets to these addresses instead of the wildcard. */
  listenAddresses?: { ipv4?: string; ipv6?: string };
  sourcePorts?: { min: number; max: number };
}

interface Entry {
  session: BfdSession;
  key: string;
  socket: dgram.Socket;
  sourcePort: number;
  pendingSends: number;
  /** Multihop: the lowest TTL accepted; follows the profile while the session runs. */
  minimumTtl: number;
}

/**
 * The peer's address in one canonical text form, so configured and received forms compare. A
 * v4-mapped source (`::ffff:a.b.c.d`, what a dual-stack socket reports for an IPv4 sender) is the
 * IPv4 peer it stands for.
 */
export function canonicalAddress(address: string): string {
  const ip = parseIp(address);
  if (ip === undefined) return address;
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) return formatIp({ family: 4, value: ip.value & 0xffffffffn });
  return formatIp(ip);
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function sessionKey(peer: string, multihop: boolean): string {
  return `${canonicalAddress(peer)}|${multihop ? 'multihop' : 'single-hop'}`;
}

/** Owns the sockets and sessions; see the file comment. */
export class BfdManager {
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly listenPorts: { singleHop: number; multihop: number };
  private readonly peerPorts: { singleHop: number; multihop: number };
  private readonly opts: BfdManagerOptions;
  private readonly byKey = new Map<string, Entry>();
  private readonly byDiscr = new Map<number, Entry>();
  private readonly usedPorts = new Set<number>();
  private readonly receivers = new Map<string, UdpTtlSocket>();
  /** Discarded datagrams by reason. */
  readonly discards = new Map<DiscardReason, number>();

  constructor(opts: BfdManagerOptions) {
    this.opts = opts;
    this.log = opts.log.child({ component: 'bfd' });
    this.random = opts.random ?? Math.random;
    this.listenPorts = opts.listenPorts ?? { singleHop: BFD_SINGLE_HOP_PORT, multihop: BFD_MULTIHOP_PORT };
    this.peerPorts = opts.peerPorts ?? { singleHop: BFD_SINGLE_HOP_PORT, multihop: BFD_MULTIHOP_PORT };
  }

  /** The session with this peer and hop mode, if any. */
  session(peerAddress: string, multihop = false): BfdSession | undefined {
    return this.byKey.get(sessionKey(peerAddress, multihop))?.session;
  }

  /** Every session's status, for metrics. */
  statuses(): BfdSessionStatus[] {
    return [...this.byKey.values()].map((e) => e.session.status());
  }

  /** The receive port actually bound for a hop mode and family (tests bind port 0). */
  listenPort(multihop: boolean, family: 4 | 6): number | undefined {
    return this.receivers.get(`${family}|${multihop}`)?.port;
  }

  /**
   * Create and start the session for `config.peerAddress`, or, if it exists, apply the new
   * timing (a Poll Sequence, no reset) and minimumTtl to it. Rejects with MetalLbError(Native) when the
   * receive port is taken (another BFD daemon on the node) or no source port can be bound.
   */
  async ensureSession(config: BfdSessionConfig): Promise<BfdSession> {
    const key = sessionKey(config.peerAddress, config.multihop);
    const existing = this.byKey.get(key);
    if (existing) {
      existing.minimumTtl = config.minimumTtl;
      existing.session.setParams(config.params);
      return existing.session;
    }
    const family = familyOf(config.peerAddress);
    this.receiver(family, config.multihop);
    const { socket, port } = await this.bindSourcePort(family, config.localAddress);
    // Another call for the same peer may have finished while this one was binding.
    const raced = this.byKey.get(key);
    if (raced) {
      this.usedPorts.delete(port);
      socket.close();
      raced.minimumTtl = config.minimumTtl;
      raced.session.setParams(config.params);
      return raced.session;
    }
    const localDiscr = this.allocateDiscriminator();
    const peerPort = config.multihop ? this.peerPorts.multihop : this.peerPorts.singleHop;
    const entry: Entry = { session: undefined as unknown as BfdSession, key, socket, sourcePort: port, pendingSends: 0, minimumTtl: config.minimumTtl };
    entry.session = new BfdSession(config, {
      log: this.log,
      localDiscr,
      seed: Math.floor(this.random() * 0x100000000),
      send: (payload, onSendError) => {
        entry.pendingSends++;
        socket.send(payload, peerPort, config.peerAddress, (err) => {
          entry.pendingSends--;
          if (err) onSendError(err);
        });
      },
    });
    this.byKey.set(key, entry);
    this.byDiscr.set(localDiscr, entry);
    this.log.info(
      { event: 'bfdSessionAdded', peer: config.peerAddress, multihop: config.multihop, localDiscr, sourcePort: port, ...config.params },
      'BFD session added',
    );
    entry.session.start();
    return entry.session;
  }

  /** Stop a session: AdminDown to the peer, then its socket closes. */
  async removeSession(peerAddress: string, multihop = false): Promise<void> {
    const entry = this.byKey.get(sessionKey(peerAddress, multihop));
    if (!entry) return;
    this.byKey.delete(entry.key);
    this.byDiscr.delete(entry.session.localDiscr);
    entry.session.stop();
    await this.closeEntry(entry);
    this.log.info({ event: 'bfdSessionRemoved', peer: peerAddress, multihop }, 'BFD session removed');
  }

  /** Remove every session and close every socket. */
  async close(): Promise<void> {
    const entries = [...this.byKey.values()];
    await Promise.all(entries.map((e) => this.removeSession(e.session.config.peerAddress, e.session.config.multihop)));
    for (const r of this.receivers.values()) r.close();
    this.receivers.clear();
  }

  private async closeEntry(entry: Entry): Promise<void> {
    // Let the AdminDown just handed to the socket leave before closing it (bounded wait).
    const deadline = Date.now() + 200;
    while (entry.pendingSends > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    this.usedPorts.delete(entry.sourcePort);
    await new Promise<void>((resolve) => entry.socket.close(() => resolve()));
  }

  private receiver(family: 4 | 6, multihop: boolean): UdpTtlSocket {
    const id = `${family}|${multihop}`;
    const existing = this.receivers.get(id);
    if (existing) return existing;
    const address = family === 4 ? this.opts.listenAddresses?.ipv4 : this.opts.listenAddresses?.ipv6;
    const port = multihop ? this.listenPorts.multihop : this.listenPorts.singleHop;
    const socket = openUdpTtlSocket({
      family,
      address,
      port,
      onDatagram: (d) => this.onDatagram(d, multihop),
      onError: (err) => this.log.debug({ event: 'receiveError', err: err.message }, 'BFD receive socket error'),
    });
    this.receivers.set(id, socket);
    return socket;
  }

  private discard(reason: DiscardReason, d: UdpDatagram, detail: string): void {
    this.discards.set(reason, (this.discards.get(reason) ?? 0) + 1);
    this.log.debug({ event: 'bfdDiscard', reason, from: d.srcAddress, srcPort: d.srcPort, ttl: d.ttl, detail }, 'BFD packet discarded');
  }

  private onDatagram(d: UdpDatagram, multihop: boolean): void {
    // RFC 5881 §5: GTSM before anything else, so an off-link sender costs no decode.
    const singleHopRefusal = multihop ? undefined : ttlRefusal(false, d.ttl, BFD_TTL);
    if (singleHopRefusal !== undefined) return this.discard(DemuxDiscard.Ttl, d, singleHopRefusal);
    const r = decode(d.payload);
    if (!r.ok) return this.discard(r.code, d, r.message);
    const p = r.packet;
    const src = canonicalAddress(d.srcAddress);
    let entry: Entry | undefined;
    if (p.yourDiscriminator !== 0) {
      entry = this.byDiscr.get(p.yourDiscriminator);
      if (!entry) return this.discard(DemuxDiscard.UnknownDiscriminator, d, `your discriminator ${p.yourDiscriminator}`);
      if (entry.key !== sessionKey(src, multihop)) {
        return this.discard(DemuxDiscard.AddressMismatch, d, `discriminator ${p.yourDiscriminator} belongs to ${entry.key}`);
      }
    } else {
      entry = this.byKey.get(sessionKey(src, multihop));
      if (!entry) return this.discard(DemuxDiscard.NoSession, d, `no ${multihop ? 'multihop' : 'single-hop'} session with ${src}`);
    }
    // RFC 5883 §5: multihop accepts what the profile allows (minimumTtl), read from the entry
    // so that a changed BFDProfile applies at once, like its timers.
    const refusal = multihop ? ttlRefusal(true, d.ttl, entry.minimumTtl) : undefined;
    if (refusal !== undefined) return this.discard(DemuxDiscard.Ttl, d, refusal);
    entry.session.receive(p);
  }

  private allocateDiscriminator(): number {
    for (;;) {
      const d = Math.floor(this.random() * 0xffffffff) + 1;
      if (!this.byDiscr.has(d)) return d >>> 0;
    }
  }

  /** A dgram socket with TTL 255 on a free source port of the RFC 5881 range, chosen at random. */
  private async bindSourcePort(family: 4 | 6, localAddress: string | undefined): Promise<{ socket: dgram.Socket; port: number }> {
    const { min, max } = this.opts.sourcePorts ?? { min: SOURCE_PORT_MIN, max: SOURCE_PORT_MAX };
    let lastError = '';
    for (let attempt = 0; attempt < 64; attempt++) {
      const port = min + Math.floor(this.random() * (max - min + 1));
      if (this.usedPorts.has(port)) continue;
      this.usedPorts.add(port);
      const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind({ port, address: localAddress, exclusive: true }, () => {
            socket.off('error', reject);
            resolve();
          });
        });
        socket.setTTL(BFD_TTL);
        // Nothing is expected on this socket; a stray datagram or ICMP error must not crash us.
        socket.on('error', (err) => this.log.debug({ event: 'sendSocketError', err: err.message }, 'BFD send socket error'));
        return { socket, port };
      } catch (err) {
        this.usedPorts.delete(port);
        try {
          socket.close();
        } catch {
          // a socket whose bind failed may already count as closed
        }
        lastError = errorMessage(err);
        if (!/EADDRINUSE/.test(lastError)) break;
      }
    }
    throw new MetalLbError(ErrorCode.Native, `BFD: cannot bind a source port in ${min}-${max}${localAddress ? ` on ${localAddress}` : ''}: ${lastError}`, {
      errno: /EADDRINUSE/.test(lastError) ? 'EADDRINUSE' : 'EUNKNOWN',
    });
  }
}
