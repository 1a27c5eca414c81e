/**
 * The L2 election shell (docs/architecture.md §7): keeps, for every VIP this node may serve, the
 * Lease view from the informer and the desired candidates from the reconcile, runs `decideVip` on
 * every change and on a tick, and carries out the action: Lease writes by CAS, announce and
 * withdraw on the data plane, and probes of the holder when this node is its first successor.
 *
 * Safety comes from two rules: this node announces a VIP only while its own view of the Lease
 * names it holder (or a CAS write of its own just made it so), and it stops the moment the view
 * says otherwise. Liveness comes from probing the holder on the wire rather than waiting for
 * Lease expiry, and from each speaker's presence Lease: a VIP Lease is written only when its
 * ownership changes, paced by a {@link LeaseWriteQueue}, so the API cost is O(nodes), not O(VIPs).
 */
import type { Lease } from '../k8s/lease';
import { after, every, realClock, type Clock } from '../util/clock';
import { RateLimitedLog, rateLimitDepsOn, type RateLimitPolicy } from '../util/rate-limited-log';
import { interfaceKey, laterLease, observedAt, ownHoldLapsed, probeWaitMs, type LeaseRecord } from './l2-election-core';
import { LeaseWriteHealth } from './lease-write-health';
import { defenceDue, respondToClaim } from './l2-claims';
import { AcquireReason, decideVip, type VipAction } from './lease-decision';
import { anyAnswer } from './serving-macs';
import type { ElectionDeps, ElectionStats, VipDesire } from './l2-election-types';
import { newVipState, type HolderProbe, type VipState } from './l2-vip-state';
import { DEFAULT_WRITE_BUDGET, LeaseWriteQueue, WritePriority } from './lease-write-queue';
import { SpeakerRoster } from './speaker-roster';
import type { HeldVip } from './l2-rebalance';
import { L2Rebalancer, type RebalanceHost } from './l2-rebalancer';
import { formatMacs, holderMacs, LeaseAnnotation, LeaseKind, leaseView, presenceLeaseName, vipLeaseName, type WriteResult } from './lease-store';

export type { ElectionDeps, ElectionStats, L2DataPlane, VipDesire } from './l2-election-types';
export { DEFAULT_ELECTION_TIMING, type ElectionTiming } from './l2-election-core';
/** How long a handing-over holder keeps answering at most, for the successor's first GARP to land. */
const HANDOVER_OVERLAP_MS = 1_000;

/** Warnings about claims on our VIPs: the first per IP and MAC, then one line with the count per minute. */
const CLAIM_WARNING_POLICY: RateLimitPolicy = { intervalMs: 60_000, burst: 1, maxKeys: 64 };

/** Per-VIP Lease election for one node. */
export class L2Election implements RebalanceHost {
  private readonly vips = new Map<string, VipState>();
  private readonly roster: SpeakerRoster;
  /** Failing or hanging writes are an outage too: nobody judges a holder gone meanwhile. */
  private readonly writes: LeaseWriteHealth;
  private readonly claimLog: RateLimitedLog;
  private presenceLease: Lease | undefined;
  private readonly probes = new Map<string, HolderProbe>();
  /** Stop the tick and the probe loops; undefined while they do not run. */
  private stopLoops: (() => void) | undefined;
  private presenceWriting = false;
  /** When our last presence write landed: it keeps the hold of every VIP we hold alive. */
  private lastPresenceWriteMs = -Infinity;
  /** Public: the shell holds its own API writes (status, Events) back while takeovers wait here. */
  readonly writeQueue: LeaseWriteQueue;
  private readonly rebalancer: L2Rebalancer | undefined;
  private stopped = false;
  readonly stats: ElectionStats = { transitions: 0, takeovers: 0, leaseWrites: 0, conflictsLost: 0, rebalances: 0, foreignClaims: {} };
  private readonly clock: Clock;

  constructor(private readonly deps: ElectionDeps) {
    const clock = (this.clock = deps.clock ?? realClock);
    this.writes = new LeaseWriteHealth(clock, deps.timing.renewIntervalMs);
    this.roster = new SpeakerRoster(deps.me, () => clock.now());
    const rebalanceLog = deps.rebalance?.enabled ? deps.log.child({ component: 'rebalance' }) : undefined;
    if (deps.rebalance && rebalanceLog) this.rebalancer = new L2Rebalancer({ me: deps.me, host: this, options: deps.rebalance, clock, log: rebalanceLog, tickMs: deps.timing.tickMs, overlapMs: HANDOVER_OVERLAP_MS });
    this.claimLog = new RateLimitedLog(deps.log, CLAIM_WARNING_POLICY, rateLimitDepsOn(clock));
    this.writeQueue = new LeaseWriteQueue(clock, deps.writeBudget ?? DEFAULT_WRITE_BUDGET, (ip, queuedMs) => this.writeTurn(ip, queuedMs));
  }

  private now(): number { return this.clock.now(); }

  /** Start the tick and probe loops. */
  start(): void {
    this.clearTimers();
    const stopTick = every(this.clock, this.deps.timing.tickMs, () => this.evaluateAll());
    const stopProbe = every(this.clock, this.deps.timing.probeIntervalMs, () => this.probeHolders());
    this.stopLoops = () => {
      stopTick();
      stopProbe();
    };
    this.rebalancer?.start();
    void this.renewPresence();
  }

  /** Nodes whose presence Lease is fresh (memberlist's replacement). */
  liveSpeakers(): Set<string> {
    return this.roster.live();
  }

  /** The reconcile's desired state: VIP -> candidates. VIPs missing here are withdrawn. */
  setDesired(desired: ReadonlyMap<string, VipDesire>): void {
    for (const [ip, d] of desired) this.state(ip).desire = d;
    for (const [ip, st] of this.vips) if (!desired.has(ip)) st.desire = undefined;
    this.evaluateAll();
  }

  /** Feed every Lease add/update from the informer. */
  onLease(lease: Lease): void {
    const kind = lease.metadata?.labels?.['metallb.io/lease-kind'];
    if (kind === LeaseKind.Presence) {
      if (this.roster.onPresence(lease) === this.deps.me) this.presenceLease = lease;
      return;
    }
    const ip = lease.metadata?.annotations?.[LeaseAnnotation.Ip];
    if (kind !== LeaseKind.Vip || !ip) return;
    const st = this.state(ip);
    const rv = (l: Lease | undefined) => Number(l?.metadata?.resourceVersion ?? 0);
    // Never go back to an older version than one our own write returned.
    if (st.lease && rv(lease) < rv(st.lease)) return;
    const before = st.lease?.spec?.holderIdentity;
    const record = (l: Lease): LeaseRecord => ({ holder: l.spec?.holderIdentity, renewTime: l.spec?.renewTime });
    st.observedAtMs = observedAt(st.lease && record(st.lease), st.observedAtMs, record(lease), this.now());
    st.lease = lease;
    this.roster.vipLeaseChanged();
    const holder = lease.spec?.holderIdentity;
    if (before !== holder) st.yielded = false;
    if (holder && holder !== before && holder !== this.deps.me && holderMacs(lease).size > 0) this.sawAlive(holder);
    this.evaluate(ip);
  }

  /** `node` took a Lease itself: our probes' verdict on it is stale (docs/speaker.md, "Partitions"). */
  private sawAlive(node: string): void {
    this.roster.sawAlive(node);
    this.probes.delete(node);
  }

  /** Feed Lease deletions from the informer. */
  onLeaseDeleted(lease: Lease): void {
    const ip = lease.metadata?.annotations?.[LeaseAnnotation.Ip];
    if (ip && this.vips.has(ip)) {
      this.state(ip).lease = undefined;
      this.evaluate(ip);
    }
  }

  /**
   * Another MAC claimed `ip` on the wire (l2-claims.ts). If the Lease says another node holds it,
   * stop (we are the stale one); if our own hold has lapsed (cut off from the API), yield only to
   * a live speaker; otherwise keep the VIP and re-announce it.
   */
  onConflict(ip: string, mac: string): void {
    const st = this.vips.get(ip);
    if (!st) return;
    const holder = st.lease?.spec?.holderIdentity ?? undefined;
    const claimant = this.roster.claimant(mac, () => [...this.vips.values()].flatMap((s) => (s.lease ? [s.lease] : [])));
    // Successors judge our hold by our presence Lease, so a presence write keeps it too.
    const lastWriteMs = Math.max(st.lastOwnWriteMs, this.lastPresenceWriteMs);
    const holdLapsed = ownHoldLapsed(lastWriteMs, this.deps.timing.leaseDurationMs, this.now());
    const res = respondToClaim({ me: this.deps.me, announcing: st.announcing, handingOver: st.handingOver, holder, holdLapsed, claimant });
    switch (res.kind) {
      case 'ignore':
        return;
      case 'handover-done':
        // The reply to our release can reach us after the successor's GARP (a loaded node): we
        // would otherwise answer for the rest of the handover wait and pull clients back to us.
        this.deps.log.info({ event: 'l2HandoverDone', ip, mac }, 'the successor announces this IP; going quiet');
        this.setAnnouncing(ip, st, false);
        return;
      case 'yield':
        this.deps.log.warn({ event: 'l2Yield', ip, mac, holder, claimant, reason: res.reason }, 'another node announces this IP; yielding');
        st.yielded = true;
        this.setAnnouncing(ip, st, false);
        return;
      case 'defend':
        if (res.foreign) {
          this.stats.foreignClaims[ip] = (this.stats.foreignClaims[ip] ?? 0) + 1;
          const msg = 'a station that is no live speaker claims this IP; keeping it and re-announcing';
          if (this.claimLog.warn(`${ip} ${mac}`, { event: 'l2ForeignClaim', ip, mac, holdLapsed }, msg)) this.deps.onForeignClaim?.(ip, mac);
        }
        if (defenceDue(st.lastDefenceMs, this.now())) {
          st.lastDefenceMs = this.now();
          this.deps.dataPlane.reannounce?.(ip);
        }
    }
  }

  /** Graceful stop: hand each held VIP to its successor (make-before-break), then withdraw. */
  async handover(waitMs = HANDOVER_OVERLAP_MS): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    this.writeQueue.clear();
    const held = [...this.vips].filter(([, st]) => st.lease?.spec?.holderIdentity === this.deps.me);
    // A node holding thousands of VIPs hands them over as paced as a takeover (LeaseWriteQueue).
    const limit = (this.deps.writeBudget ?? DEFAULT_WRITE_BUDGET).maxInFlight;
    const work = held.values();
    const worker = async (): Promise<void> => {
      for (const [ip, st] of work) {
        const successor = st.desire?.ranked.find((n) => n !== this.deps.me && this.liveSpeakers().has(n)) ?? '';
        const r = await this.handOver(st, successor);
        this.deps.log.info({ event: 'l2Handover', ip, to: successor || '(none)', ok: r.ok, ...(r.ok ? {} : { err: r.error }) }, 'handing VIP over');
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, held.length) }, worker));
    // Keep answering briefly so the successor's first GARP lands before we go quiet.
    if (held.length > 0) await after(this.clock, waitMs);
    for (const [ip, st] of this.vips) this.setAnnouncing(ip, st, false);
    this.claimLog.flush();
    if (this.presenceLease) await this.deps.store.release(this.presenceLease);
  }

  /**
   * Release one Lease to `successor`. A renew still in flight would turn the release into a CAS
   * conflict (seen as a successor waiting a whole lease duration after SIGTERM), so let it land
   * first; on a conflict anyway, retry with the version the watch delivered meanwhile.
   */
  private async handOver(st: VipState, successor: string): Promise<WriteResult> {
    st.handingOver = true;
    let res: WriteResult = { ok: false, conflict: false, error: new Error('not the holder') };
    for (let attempt = 0; attempt < 3; attempt++) {
      await st.written;
      if (!st.lease || st.lease.spec?.holderIdentity !== this.deps.me) return res;
      const base = st.lease;
      res = await this.writes.track(this.deps.store.release(base, successor));
      if (res.ok) {
        st.lease = laterLease(st.lease, res.lease, base);
        return res;
      }
      if (!res.conflict) return res;
      await after(this.clock, 50);
    }
    return res;
  }

  /** Stop timers without handing over (hard stop, tests). */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.writeQueue.clear();
    this.claimLog.flush();
  }

  /** VIPs this node announces right now. */
  announced(): string[] {
    return [...this.vips].filter(([, st]) => st.announcing).map(([ip]) => ip);
  }

  private clearTimers(): void {
    this.rebalancer?.stop();
    this.stopLoops?.();
    this.stopLoops = undefined;
  }

  private state(ip: string): VipState {
    let st = this.vips.get(ip);
    if (!st) {
      st = newVipState();
      this.vips.set(ip, st);
    }
    return st;
  }

  private evaluateAll(): void {
    if (this.stopped) return;
    void this.renewPresence();
    // One live set for the whole pass: rebuilding it per VIP made each tick O(VIPs x nodes).
    const live = this.liveSpeakers();
    for (const ip of [...this.vips.keys()]) this.evaluate(ip, live);
  }

  private action(st: VipState, live: ReadonlySet<string> = this.liveSpeakers()): VipAction {
    const holder = st.lease?.spec?.holderIdentity ?? '';
    return decideVip({
      me: this.deps.me,
      nowMs: this.now(),
      ranked: st.desire ? st.desire.ranked.filter((n) => live.has(n)) : [],
      lease: st.lease ? leaseView(st.lease, st.observedAtMs) : undefined,
      liveSpeakers: live,
      holderProbeMisses: this.probes.get(holder)?.misses ?? 0,
      probeMissesToTakeOver: this.deps.timing.probeMisses,
      apiHealthyForMs: this.apiHealthyForMs(),
    });
  }

  /** How long this node's Lease watch and Lease writes have both worked without interruption. */
  apiHealthyForMs(): number {
    const since = this.deps.apiHealthySince();
    return Math.min(since === undefined ? 0 : this.now() - since, this.writes.healthyForMs());
  }

  /** VIP Lease writes waiting for their turn. */
  writesWaiting(): number {
    return this.writeQueue.waiting;
  }

  /** Held, announced VIPs with nothing under way: what a rebalance may move (l2-rebalancer.ts). */
  rebalanceCandidates(): HeldVip[] {
    const live = this.liveSpeakers();
    const idle = ([, st]: [string, VipState]): boolean => st.announcing && !st.writing && !st.handingOver && !st.yielded && st.lease?.spec?.holderIdentity === this.deps.me;
    return [...this.vips].filter(idle).flatMap(([ip, st]) => (st.desire ? [{ ip, ranked: st.desire.ranked.filter((n) => live.has(n)), heldSinceMs: st.observedAtMs }] : []));
  }

  /** Rebalance: hand `ip` to `to` by CAS and keep answering (make-before-break) until endHandBack. */
  async handBack(ip: string, to: string): Promise<boolean> {
    const st = this.vips.get(ip);
    if (!st || this.stopped) return false;
    const res = await this.handOver(st, to);
    if (res.ok) this.stats.rebalances++;
    else this.endHandBack(ip);
    return res.ok;
  }

  /** The rebalance overlap of `ip` is over: decide again (it is no longer ours: go quiet). */
  endHandBack(ip: string): void {
    const st = this.vips.get(ip);
    if (!st || this.stopped) return;
    st.handingOver = false;
    this.evaluate(ip);
  }

  private evaluate(ip: string, live?: ReadonlySet<string>): void {
    if (this.stopped) return;
    const st = this.state(ip);
    // A rebalance handover keeps answering until the new owner announces (endHandBack).
    if (st.handingOver) return;
    const act = this.action(st, live);
    switch (act.kind) {
      case 'hold':
        if (!st.yielded) this.setAnnouncing(ip, st, true);
        // No renewal: only a change of the MACs we serve it on (a Lease handed to us carries none,
        // LeaseStore.release) is written, or our successor would probe the wrong ones.
        if (this.macsStale(ip, st)) this.writeQueue.request(ip, WritePriority.Normal);
        break;
      case 'acquire':
        this.writeQueue.request(ip, act.reason === AcquireReason.Free || act.reason === AcquireReason.Released ? WritePriority.Normal : WritePriority.Takeover);
        break;
      case 'release':
        this.setAnnouncing(ip, st, false);
        this.writeQueue.request(ip, WritePriority.Normal);
        break;
      case 'watch-holder':
        this.setAnnouncing(ip, st, false);
        if (!this.probes.has(act.holder)) this.probes.set(act.holder, { misses: 0, inFlight: false, lastMs: -Infinity });
        break;
      case 'idle':
        this.setAnnouncing(ip, st, false);
        if (!st.desire && !st.lease) this.vips.delete(ip);
        break;
    }
  }

  private setAnnouncing(ip: string, st: VipState, on: boolean): void {
    if (st.announcing === on) {
      // The interface set can change while we keep announcing. Only a change (or a retry of a
      // selection that failed) is passed on: every tick of a held VIP lands here, and each
      // announce restarts the gratuitous burst, so passing every tick on never let a burst end.
      if (on && st.desire && interfaceKey(st.desire.interfaces) !== st.announcedOn) this.announceOn(ip, st, st.desire.interfaces);
      return;
    }
    st.announcing = on;
    this.stats.transitions++;
    if (on) this.announceOn(ip, st, st.desire?.interfaces ?? 'all');
    else {
      st.announcedOn = '';
      this.deps.dataPlane.withdraw(ip);
    }
    this.deps.log.info({ event: on ? 'l2Announce' : 'l2Withdraw', ip }, on ? 'announcing VIP' : 'stopped announcing VIP');
    this.deps.onOwnership?.(ip, on);
  }

  private announceOn(ip: string, st: VipState, interfaces: 'all' | readonly string[]): void {
    st.announcedOn = this.deps.dataPlane.announce(ip, interfaces) ? interfaceKey(interfaces) : '';
  }

  /** The Lease we hold does not publish exactly the MACs that serve the VIP now. */
  private macsStale(ip: string, st: VipState): boolean {
    if (!st.lease) return false;
    const serving = this.servingMacs(ip, st);
    const key = (m: ReadonlyMap<string, string>): string => [...m].map(([i, mac]) => `${i}=${mac.toLowerCase()}`).sort().join(',');
    return serving.size > 0 && key(holderMacs(st.lease)) !== key(serving);
  }

  private servingMacs(ip: string, st: VipState): Map<string, string> {
    return this.deps.dataPlane.localMacs(ip, st.desire?.interfaces ?? 'all');
  }

  /** Every MAC this node may serve on, either family: what identifies its claims (l2-claims.ts). */
  private nodeMacs(): Map<string, string> {
    return new Map([...this.deps.dataPlane.localMacs('0.0.0.0', 'all'), ...this.deps.dataPlane.localMacs('::', 'all')]);
  }

  /**
   * A queued VIP's turn to write (LeaseWriteQueue): decided again from the latest view, so a write
   * that waited behind a burst never acts on a stale one. Undefined when none is needed any more.
   */
  private writeTurn(ip: string, queuedMs: number): Promise<void> | undefined {
    const st = this.vips.get(ip);
    if (!st || st.writing || this.stopped) return undefined;
    const act = this.action(st);
    if (act.kind === 'release') return this.giveUp(st);
    const why = act.kind === 'acquire' ? act.reason : act.kind === 'hold' && this.macsStale(ip, st) ? 'macs' : undefined;
    if (why === undefined) return undefined;
    st.writing = true;
    st.written = this.doWrite(ip, st, why, queuedMs);
    return st.written;
  }

  private async doWrite(ip: string, st: VipState, why: string, queuedMs: number, startMs = this.now()): Promise<void> {
    this.stats.leaseWrites++;
    // After a failed write (API server unreachable) the next tick retries; re-evaluating at once
    // would retry in a tight loop (hundreds of writes and warnings per second per VIP).
    let again = true;
    try {
      const base = st.lease;
      const prevHolder = base?.spec?.holderIdentity;
      const annotations = { [LeaseAnnotation.Ip]: ip, [LeaseAnnotation.HolderMacs]: formatMacs(this.servingMacs(ip, st)) };
      const res = await this.writes.track(this.deps.store.claim(vipLeaseName(ip), LeaseKind.Vip, this.deps.me, annotations, base));
      if (res.ok) {
        const wasOurs = prevHolder === this.deps.me;
        st.lease = laterLease(st.lease, res.lease, base);
        st.lastOwnWriteMs = this.now();
        st.observedAtMs = this.now();
        st.yielded = false;
        if (!wasOurs) {
          this.stats.takeovers++;
          this.deps.log.info({ event: 'l2Acquired', ip, reason: why, queuedMs, writeMs: this.now() - startMs }, 'acquired VIP lease');
        }
        // The misses that proved the previous holder dead stand until its last VIP is taken: a
        // takeover of thousands is paced (LeaseWriteQueue) and must not lose its evidence midway.
        if (prevHolder && ![...this.vips.values()].some((v) => v.lease?.spec?.holderIdentity === prevHolder)) this.probes.delete(prevHolder);
      } else if (res.conflict) {
        this.stats.conflictsLost++;
        this.deps.log.debug({ event: 'l2LeaseConflict', ip, reason: why }, 'lease changed under us; waiting for the watch');
      } else {
        again = false;
        this.deps.log.warn({ event: 'l2LeaseWriteFailed', ip, reason: why, err: res.error }, 'lease write failed; current holders keep announcing');
      }
    } finally {
      st.writing = false;
    }
    if (again) this.evaluate(ip);
  }

  private giveUp(st: VipState): Promise<void> | undefined {
    if (st.writing || !st.lease) return undefined;
    st.writing = true;
    st.written = this.doGiveUp(st, st.lease);
    return st.written;
  }

  private async doGiveUp(st: VipState, lease: Lease): Promise<void> {
    this.stats.leaseWrites++;
    try {
      const res = await this.writes.track(st.desire ? this.deps.store.release(lease) : this.deps.store.remove(lease));
      if (res.ok) st.lease = laterLease(st.lease, st.desire ? res.lease : undefined, lease);
    } finally {
      st.writing = false;
    }
  }

  private async renewPresence(): Promise<void> {
    if (this.presenceWriting || this.stopped) return;
    const mine = this.roster.view(this.deps.me);
    if (mine && mine.holder === this.deps.me && this.now() - mine.renewTimeMs < this.deps.timing.renewIntervalMs) return;
    this.presenceWriting = true;
    try {
      const annotations = { [LeaseAnnotation.NodeMacs]: formatMacs(this.nodeMacs()) };
      const res = await this.writes.track(this.deps.store.claim(presenceLeaseName(this.deps.me), LeaseKind.Presence, this.deps.me, annotations, this.presenceLease));
      if (res.ok) {
        this.lastPresenceWriteMs = this.now();
        this.onLease(res.lease);
      } else if (res.conflict) this.presenceLease = undefined; // re-read through the informer / recreate
    } finally {
      this.presenceWriting = false;
    }
  }

  /** Probe each holder we are first successor for: one VIP per holder per period. */
  private probeHolders(): void {
    if (this.stopped) return;
    const now = this.now();
    for (const [holder, pr] of this.probes) {
      if (pr.inFlight || now - pr.lastMs < probeWaitMs(pr.misses, this.deps.timing.probeIntervalMs)) continue;
      const target = [...this.vips].find(([, st]) => st.lease?.spec?.holderIdentity === holder && this.action(st).kind !== 'idle');
      if (!target) {
        this.probes.delete(holder);
        continue;
      }
      const [ip, st] = target;
      // Every MAC the holder published: the interfaces serving the VIP (one answering is enough;
      // a holder of an older version published all of its MACs, most of which never answer).
      const macs = [...new Set(holderMacs(st.lease!).values())];
      if (macs.length === 0) continue;
      pr.inFlight = true;
      pr.lastMs = now;
      void anyAnswer(macs.map((mac) => this.deps.dataPlane.probe(ip, mac, this.deps.timing.probeTimeoutMs)))
        .then((alive) => {
          pr.inFlight = false;
          // Unprobed is not evidence of death: leave the count alone and let the Lease decide.
          if (alive === undefined) return;
          pr.misses = alive ? 0 : pr.misses + 1;
          if (!alive) {
            this.deps.log.debug({ event: 'l2ProbeMiss', holder, ip, misses: pr.misses }, 'holder did not answer a probe');
            if (pr.misses >= this.deps.timing.probeMisses) {
              if (pr.misses === this.deps.timing.probeMisses) this.deps.log.info({ event: 'l2HolderDead', holder, ip, misses: pr.misses }, 'holder dead on the wire; taking over its VIPs');
              this.roster.markDead(holder);
              for (const [vip, s] of this.vips) if (s.lease?.spec?.holderIdentity === holder) this.evaluate(vip);
            } else if (!this.stopped) this.clock.setTimeout(() => this.probeHolders(), 0);
          }
        });
    }
  }
}
