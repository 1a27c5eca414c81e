/**
 * The L2 announcer: the I/O shell around the pure responder. One AF_PACKET socket per interface
 * in use (native addon, kernel BPF filter 'arp-ns'), solicited-node multicast groups joined per
 * IPv6 VIP, gratuitous bursts and refreshes on one timer, probes for fast failure detection, and
 * counters the speaker maps to upstream's metallb_layer2_* metrics.
 */
import { EventEmitter } from 'node:events';
import { BadFrameReason, isBadFrame } from './ethernet';
import { decodeFrame, encodeFrame, type ArpFrame, type Frame, type NdpFrame } from './frame';
import { GarpSchedule, DEFAULT_GARP_TIMING } from './garp-schedule';
import {
  DEFAULT_EXCLUDED_INTERFACES,
  eligibleInterfaces,
  selectInterfaces,
  servingMacsOf,
  type InterfaceScan,
  type InterfaceSelection,
} from './interfaces';
import { normaliseMac, parseIpBytes, solicitedNodeAddress, solicitedNodeMac } from './addr';
import { DropReason, claimOf, gratuitousFrames, probeFrame, respond, type Announcement, type ResponderContext } from './responder';
import { defaultL2System, type L2Socket, type L2System } from './l2-system';
import { joinGroup, leaveGroup, type GroupCounts, type SolicitedNodeGroup } from './solicited-groups';
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { backgroundClock, type Clock } from '../util/clock';
import { RateLimitedLog, rateLimitDepsOn, type RateLimitPolicy } from '../util/rate-limited-log';

import type { ConflictEvent, L2AnnouncerOptions, L2Counters, ProbeOptions } from './announcer-types';

export type { ConflictEvent, L2AnnouncerOptions, L2Counters, ProbeOptions } from './announcer-types';

/** Conflict warnings: the first per IP and claiming MAC, then one line per 30 s with the count. */
const CONFLICT_LOG_POLICY: RateLimitPolicy = { intervalMs: 30_000, burst: 1, maxKeys: 64 };

interface Served {
  ip: string;
  family: 4 | 6;
  request: 'all' | readonly string[];
  /** Interfaces currently serving the IP (resolved from request at announce and rescan). */
  interfaces: string[];
  /** Solicited-node group joined on each of `interfaces` (IPv6 only): its MAC and address. */
  group?: SolicitedNodeGroup;
}

interface SocketEntry {
  sock: L2Socket;
  /** The interface instance the socket is bound to; undefined when the system cannot tell. */
  ifindex: number | undefined;
  ctx: ResponderContext;
  /** Joined multicast MAC -> number of VIPs needing it (VIPs can share a solicited-node group). */
  groups: GroupCounts;
  /** Encoded gratuitous frames per IP: a refresh of 1,000 VIPs then costs only the sends. */
  garp: Map<string, Buffer[]>;
}

interface PendingProbe {
  resolve: (ok: boolean) => void;
  timer: unknown;
}

/** Announces IPs on L2 and answers for them; see docs/l2.md. */
export class L2Announcer extends EventEmitter {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly system: L2System;
  private readonly exclude: readonly string[];
  private readonly schedule: GarpSchedule;
  private readonly announced = new Map<string, Announcement>();
  private readonly served = new Map<string, Served>();
  private readonly sockets = new Map<string, SocketEntry>();
  private readonly ownMacs = new Set<string>();
  private readonly probes = new Map<string, Set<PendingProbe>>();
  private readonly c: L2Counters = {
    requestsReceived: {},
    responsesSent: {},
    gratuitousSent: {},
    framesReceived: 0,
    dropped: Object.fromEntries(Object.values(DropReason).map((r) => [r, 0])) as Record<DropReason, number>,
    badFrames: Object.fromEntries(Object.values(BadFrameReason).map((r) => [r, 0])),
    conflicts: 0,
    conflictsByIp: {},
    sendErrors: 0,
    probesSent: 0,
  };
  private scan: InterfaceScan = { present: [], eligible: [], skipped: [] };
  private linkLocals = new Map<string, string>();
  private ifindexes = new Map<string, number>();
  private garpTimer: unknown;
  private garpTimerAt: number | undefined;
  private rescanTimer: unknown;
  private scanSignature = '';
  /** A socket failed to open or was replaced: re-resolve even if the interfaces look the same. */
  private socketsLost = false;
  private closed = false;
  private readonly conflictLog: RateLimitedLog;

  constructor(private readonly opts: L2AnnouncerOptions) {
    super();
    this.log = opts.logger.child({ component: 'l2-announcer' });
    this.clock = opts.clock ?? backgroundClock;
    this.system = opts.system ?? defaultL2System();
    this.exclude = opts.excludeInterfaces ?? DEFAULT_EXCLUDED_INTERFACES;
    this.schedule = new GarpSchedule({ ...DEFAULT_GARP_TIMING, ...opts.garp });
    this.conflictLog = new RateLimitedLog(this.log, CONFLICT_LOG_POLICY, rateLimitDepsOn(this.clock));
    this.rescan();
  }

  /**
   * Announce `ip` on `interfaces` ('all' or an empty list: every eligible interface; as the
   * L2Advertisement field). Idempotent; every call (re)starts the gratuitous burst, as upstream's
   * SetBalancer does. Returns ok:false, and announces nothing, when none of the named interfaces
   * exists here (the speaker turns that into upstream's announceFailed event).
   */
  announce(ip: string, interfaces: 'all' | readonly string[] = 'all'): InterfaceSelection {
    this.assertOpen();
    const addr = parseIpBytes(ip);
    const selection = selectInterfaces(this.scan, interfaces, addr.family);
    if (!selection.ok) {
      this.withdraw(addr.text);
      // Debug only: a caller may retry until the interface appears, and reports the failure itself.
      this.log.debug({ event: 'announceFailed', ip: addr.text, interfaces: selection.requested }, 'no such interface on this node');
      return selection;
    }
    const request = interfaces === 'all' || interfaces.length === 0 ? 'all' : [...interfaces];
    this.announced.set(addr.text, { interfaces: request === 'all' ? 'all' : new Set(request) });
    this.publish();
    // A re-announce (new interface selection) updates the record it replaces: a fresh one forgot
    // the interfaces already joined, which then stayed in the group (MLD reports for a VIP the
    // node no longer serves there) and were counted twice on a repeat.
    const served: Served = this.served.get(addr.text) ?? { ip: addr.text, family: addr.family, request, interfaces: [] };
    served.request = request;
    if (addr.family === 6) served.group ??= { mac: solicitedNodeMac(addr.bytes), address: solicitedNodeAddress(addr.bytes) };
    this.setServedInterfaces(served, selection.interfaces);
    this.served.set(addr.text, served);
    this.log.debug({ event: 'announce', ip: addr.text, interfaces: served.interfaces }, 'announcing');
    if (this.schedule.trigger(addr.text, this.clock.now())) this.sendGratuitous(addr.text);
    this.armGarpTimer();
    return { ok: true, interfaces: [...served.interfaces] };
  }

  /** Stop announcing `ip`: from this call on no frame is answered for it. No goodbye is sent. */
  withdraw(ip: string): void {
    const text = parseIpBytes(ip).text;
    const served = this.served.get(text);
    if (this.announced.delete(text)) this.publish();
    this.schedule.remove(text);
    if (served === undefined) return;
    this.setServedInterfaces(served, []);
    this.served.delete(text);
    this.log.debug({ event: 'withdraw', ip: text }, 'withdrawn');
    this.armGarpTimer();
  }

  /**
   * Send a gratuitous round for an announced `ip` now, even inside a burst, and restart the burst:
   * the answer to a station claiming it. False when `ip` is not announced.
   */
  reannounce(ip: string): boolean {
    this.assertOpen();
    const text = parseIpBytes(ip).text;
    if (!this.served.has(text)) return false;
    this.sendGratuitous(text);
    this.schedule.trigger(text, this.clock.now());
    this.armGarpTimer();
    return true;
  }

  /** `interface -> MAC` of the interfaces that would serve `ip` for this selection, from the last scan. */
  servingMacs(ip: string, interfaces: 'all' | readonly string[]): Map<string, string> {
    return servingMacsOf(this.scan, interfaces, parseIpBytes(ip).family);
  }

  /** IPs currently announced, with the interfaces serving each. */
  announcements(): Map<string, string[]> {
    return new Map([...this.served].map(([ip, s]) => [ip, [...s.interfaces]]));
  }

  /**
   * Ask the station at `mac` whether it still answers for `ip`: a unicast ARP probe / NS (see
   * probeFrame). Resolves true as soon as a frame binds `ip` to `mac`, false after the timeout,
   * and undefined at once when no interface could carry the probe: that says nothing about the
   * owner, and a caller counting misses must not count it (it made successors take over from
   * live holders, and the VIP ping-ponged). A link without carrier cannot carry it either: a node
   * whose own link is down would otherwise find every holder dead and take their VIPs.
   */
  probe(ip: string, mac: string, opts: ProbeOptions = {}): Promise<boolean | undefined> {
    this.assertOpen();
    const addr = parseIpBytes(ip);
    const owner = normaliseMac(mac);
    const selection = selectInterfaces(this.scan, opts.interfaces ?? 'all', addr.family);
    const names = selection.ok ? selection.interfaces : [];
    const entries = names.map((n) => this.socketFor(n)).filter((e): e is SocketEntry => e !== undefined && this.system.hasCarrier?.(e.sock.ifname) !== false);
    if (entries.length === 0) {
      this.log.debug({ ip: addr.text, mac: owner }, 'probe: no interface with carrier to probe on');
      return Promise.resolve(undefined);
    }
    const key = `${addr.text} ${owner}`;
    return new Promise<boolean | undefined>((resolve) => {
      const pending: PendingProbe = {
        resolve: (ok) => {
          this.clock.clearTimeout(pending.timer);
          const set = this.probes.get(key);
          set?.delete(pending);
          if (set?.size === 0) this.probes.delete(key);
          resolve(ok);
        },
        timer: undefined,
      };
      // At the deadline, give the loop one more turn to read frames before calling it a miss: a
      // timer that fires late (this loop was busy) runs before the frames that arrived meanwhile
      // are read, and an answer that came in time must not count as a miss because this node was
      // slow to read it (docs/speaker.md, failure detection).
      const missed = (): void => {
        pending.timer = this.clock.setTimeout(() => pending.resolve(false), 0);
      };
      pending.timer = this.clock.setTimeout(missed, opts.timeoutMs ?? 1000);
      const set = this.probes.get(key) ?? new Set<PendingProbe>();
      set.add(pending);
      this.probes.set(key, set);
      for (const e of entries) {
        this.send(e, probeFrame(addr.text, owner, e.ctx.iface.mac, this.linkLocals.get(e.sock.ifname)));
        this.c.probesSent++;
      }
    });
  }

  /** A snapshot of the counters. */
  counters(): L2Counters {
    return structuredClone(this.c);
  }

  /**
   * Re-read the interfaces: open what new announcements need, close sockets of interfaces that
   * left, and re-resolve every announcement. Runs periodically when rescanIntervalMs > 0.
   */
  rescan(): void {
    if (this.closed) return;
    try {
      const descriptions = this.system.listInterfaces();
      this.linkLocals = this.system.linkLocalAddresses();
      this.scan = eligibleInterfaces(descriptions, this.exclude);
      this.ifindexes = new Map(descriptions.flatMap((d) => (d.index === undefined ? [] : [[d.name, d.index] as const])));
      this.ownMacs.clear();
      for (const d of descriptions) if (d.mac !== '00:00:00:00:00:00') this.ownMacs.add(d.mac);
      this.publish();
    } catch (err) {
      this.log.warn({ err }, 'interface scan failed; keeping the previous view');
    }
    // Sockets on interfaces that went away or changed MAC first, then re-resolve (only when the
    // view changed: with 1,000 VIPs that loop is the whole cost of an idle rescan), then idle ones.
    for (const [name, e] of this.sockets) {
      const eligible = this.scan.eligible.find((x) => x.name === name);
      const ifindex = this.ifindexes.get(name);
      if (eligible === undefined || eligible.mac !== e.ctx.iface.mac) this.closeSocket(name);
      else if (ifindex !== undefined && e.ifindex !== undefined && ifindex !== e.ifindex) {
        // Same name and MAC, new interface (deleted and re-created): the kernel unbound the old
        // socket when the old interface was unregistered, so it hears nothing. Upstream keys
        // responders by ifindex for the same reason.
        this.log.info({ event: 'interfaceRecreated', iface: name, ifindex }, 'interface re-created; reopening its socket');
        this.closeSocket(name);
        this.socketsLost = true; // the scan looks unchanged, but the VIPs must move to the new socket
      }
    }
    const signature = JSON.stringify([this.scan.present, this.scan.eligible]);
    if (signature !== this.scanSignature || this.socketsLost) {
      this.scanSignature = signature;
      this.socketsLost = false;
      for (const s of this.served.values()) {
        const sel = selectInterfaces(this.scan, s.request, s.family);
        this.setServedInterfaces(s, sel.ok ? sel.interfaces : []);
      }
    }
    const used = new Set<string>();
    for (const s of this.served.values()) for (const n of s.interfaces) used.add(n);
    for (const name of [...this.sockets.keys()]) if (this.probes.size === 0 && !used.has(name)) this.closeSocket(name);
    const every = this.opts.rescanIntervalMs ?? 10_000;
    if (every > 0) {
      this.clock.clearTimeout(this.rescanTimer);
      this.rescanTimer = this.clock.setTimeout(() => this.rescan(), every);
    }
  }

  /** Stop everything: timers, sockets, pending probes (they resolve false). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.clearTimeout(this.garpTimer);
    this.clock.clearTimeout(this.rescanTimer);
    this.conflictLog.flush();
    for (const set of [...this.probes.values()]) for (const p of [...set]) p.resolve(false);
    for (const name of [...this.sockets.keys()]) this.closeSocket(name);
    this.announced.clear();
    this.served.clear();
    this.schedule.clear();
  }

  override on(event: 'conflict', listener: (c: ConflictEvent) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  /** Tell a system that answers by itself (a responder thread) what we announce now. */
  private publish(): void {
    this.system.answer?.(this.announced, this.ownMacs);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('L2Announcer is closed');
  }

  /** Move `served` to `names`: open sockets, join/leave the solicited-node group per socket. */
  private setServedInterfaces(served: Served, names: string[]): void {
    const keep: string[] = [];
    for (const name of names) {
      if (served.interfaces.includes(name)) {
        keep.push(name);
        continue;
      }
      const e = this.socketFor(name);
      if (e === undefined) continue;
      if (served.group !== undefined) this.join(e, served.group);
      keep.push(name);
    }
    for (const name of served.interfaces) {
      if (keep.includes(name)) continue;
      const e = this.sockets.get(name);
      if (e === undefined) continue;
      e.garp.delete(served.ip);
      if (served.group !== undefined) this.leave(e, served.group);
    }
    served.interfaces = keep;
  }

  private join(e: SocketEntry, g: SolicitedNodeGroup): void {
    joinGroup(e.groups, e.sock, g, this.log);
  }

  private leave(e: SocketEntry, g: SolicitedNodeGroup): void {
    leaveGroup(e.groups, e.sock, g, this.log);
  }

  private socketFor(name: string): SocketEntry | undefined {
    const existing = this.sockets.get(name);
    if (existing !== undefined) return existing;
    const eligible = this.scan.eligible.find((x) => x.name === name);
    if (eligible === undefined) return undefined;
    try {
      const entry: SocketEntry = {
        sock: undefined as unknown as L2Socket,
        ifindex: undefined,
        ctx: { announced: this.announced, iface: { name, mac: eligible.mac }, ownMacs: this.ownMacs },
        groups: new Map(),
        garp: new Map(),
      };
      entry.sock = this.system.openPacketSocket(name, (frame, pktType, answered) => this.onFrame(entry, frame, pktType, answered), (err) => {
        this.log.warn({ err, iface: name }, 'packet socket error');
      });
      // The socket's own index is the truth (it resolved the name just now); the scan's may be older.
      entry.ifindex = entry.sock.ifindex ?? this.ifindexes.get(name);
      this.sockets.set(name, entry);
      this.log.debug({ iface: name }, 'packet socket open');
      return entry;
    } catch (err) {
      this.socketsLost = true;
      this.log.warn({ err, iface: name }, 'cannot open packet socket');
      return undefined;
    }
  }

  private closeSocket(name: string): void {
    const e = this.sockets.get(name);
    if (e === undefined) return;
    this.sockets.delete(name);
    e.sock.close(); // closing the socket drops its memberships too (MAC filter and IP layer)
    for (const s of this.served.values()) s.interfaces = s.interfaces.filter((n) => n !== name);
  }

  /** `answered`: the system already answered this frame (see L2System.answer); we only count. */
  private onFrame(e: SocketEntry, buf: Buffer, pktType: number, answered?: boolean): void {
    this.c.framesReceived++;
    let frame: Frame;
    try {
      frame = decodeFrame(buf);
    } catch (err) {
      this.c.dropped[DropReason.BadFrame]++;
      if (isBadFrame(err)) {
        const reason = String(err.details.reason);
        this.c.badFrames[reason] = (this.c.badFrames[reason] ?? 0) + 1;
        this.log.debug({ iface: e.sock.ifname, reason, len: buf.length }, 'undecodable frame dropped');
      } else {
        this.log.error({ err, iface: e.sock.ifname }, 'decoder bug; frame dropped');
      }
      return;
    }
    if (this.probes.size > 0) {
      const claim = claimOf(frame);
      const waiting = claim && this.probes.get(`${claim.ip} ${claim.mac}`);
      if (waiting) for (const p of [...waiting]) p.resolve(true);
    }
    const d = respond(e.ctx, frame, pktType);
    if (d.kind === 'reply') {
      inc(this.c.requestsReceived, d.ip);
      // Not answered by the system: its table did not have the IP yet, or there is no such system.
      const sent = answered ?? this.send(e, d.frame);
      if (sent) inc(this.c.responsesSent, d.ip);
      else if (answered === false) this.c.sendErrors++;
    } else if (d.kind === 'conflict') {
      this.c.conflicts++;
      inc(this.c.conflictsByIp, d.ip);
      const ev: ConflictEvent = { ip: d.ip, mac: d.mac, interface: e.sock.ifname };
      this.conflictLog.warn(`${d.ip} ${d.mac}`, { event: 'conflict', ...ev }, 'another station claims an IP we announce');
      try {
        this.emit('conflict', ev);
      } catch (err) {
        // A throwing listener must not take the data plane down with it (we are inside the
        // native frame callback, where an exception is fatal to the process).
        this.log.error({ err }, 'conflict listener threw');
      }
    } else {
      this.c.dropped[d.reason]++;
      this.log.debug({ iface: e.sock.ifname, reason: d.reason, ip: d.ip }, 'frame not answered');
    }
  }

  private send(e: SocketEntry, frame: ArpFrame | NdpFrame): boolean {
    return this.sendRaw(e, encodeFrame(frame));
  }

  private sendRaw(e: SocketEntry, bytes: Buffer): boolean {
    try {
      e.sock.send(bytes);
      return true;
    } catch (err) {
      this.c.sendErrors++;
      this.log.debug({ iface: e.sock.ifname, err: errorMessage(err) }, 'send failed');
      return false;
    }
  }

  private sendGratuitous(ip: string): void {
    const s = this.served.get(ip);
    if (s === undefined) return;
    for (const name of s.interfaces) {
      const e = this.sockets.get(name);
      if (e === undefined) continue;
      let frames = e.garp.get(ip);
      if (frames === undefined) {
        frames = gratuitousFrames(ip, e.ctx.iface.mac).map(encodeFrame);
        e.garp.set(ip, frames);
      }
      for (const f of frames) if (this.sendRaw(e, f)) inc(this.c.gratuitousSent, ip);
    }
  }

  /** Keep exactly one timer, set for the schedule's next due time. */
  private armGarpTimer(): void {
    const next = this.schedule.nextDueMs();
    if (next === this.garpTimerAt) return;
    this.clock.clearTimeout(this.garpTimer);
    this.garpTimerAt = next;
    if (next === undefined || this.closed) return;
    this.garpTimer = this.clock.setTimeout(() => {
      this.garpTimerAt = undefined;
      for (const ip of this.schedule.takeDue(this.clock.now())) this.sendGratuitous(ip);
      this.armGarpTimer();
    }, Math.max(0, next - this.clock.now()));
  }
}

function inc(m: Record<string, number>, key: string): void {
  m[key] = (m[key] ?? 0) + 1;
}
