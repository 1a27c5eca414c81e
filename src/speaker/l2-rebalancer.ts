/**
 * The shell of the opt-in L2 rebalance (docs/speaker.md "Rebalance"; the rules are pure, in
 * l2-rebalance.ts). On every election tick it asks the planner which held VIPs go back to their
 * ranked owner and hands each over the way a graceful stop does: the Lease moves by one CAS write
 * of ours naming the owner (never two holders in one version), we keep answering until the owner's
 * first gratuitous ARP / unsolicited NA reaches us or `overlapMs` has passed (make-before-break),
 * then the election decides again and goes quiet.
 */
import { every, type Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { movesInWindow, planRebalance, trackLiveSince, type HeldVip, type RebalanceMove, type RebalanceOptions } from './l2-rebalance';

/** What the rebalance needs from the election (L2Election implements it). */
export interface RebalanceHost {
  /** VIPs held and announced by this node with no write or handover under way. */
  rebalanceCandidates(): HeldVip[];
  liveSpeakers(): Set<string>;
  /** How long this node's Lease watch and writes have both worked. */
  apiHealthyForMs(): number;
  /** VIP Lease writes waiting in this node's queue. */
  writesWaiting(): number;
  /** Hand `ip` to `to` by CAS and keep announcing it; false when the write did not land. */
  handBack(ip: string, to: string): Promise<boolean>;
  /** The overlap of `ip` is over: decide again (and so go quiet). */
  endHandBack(ip: string): void;
}

/** Dependencies of {@link L2Rebalancer}. */
export interface RebalancerDeps {
  readonly me: string;
  readonly host: RebalanceHost;
  readonly options: RebalanceOptions;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often the planner runs (the election's tick). */
  readonly tickMs: number;
  /** Longest make-before-break overlap: the graceful stop's wait. */
  readonly overlapMs: number;
}

/** Rebalances one node's VIPs toward their ranked owners at a bounded rate. */
export class L2Rebalancer {
  private liveSinceMs = new Map<string, number>();
  private recentMovesMs: number[] = [];
  private readonly overlaps = new Set<unknown>();
  private stopTick: (() => void) | undefined;

  constructor(private readonly deps: RebalancerDeps) {
    const { batch, intervalMs, settleMs } = deps.options;
    deps.log.info({ event: 'l2RebalanceEnabled', batch, intervalMs, settleMs }, 'VIPs go back to their ranked owner, make-before-break');
  }

  /** Start planning on every tick. */
  start(): void {
    this.stop();
    this.stopTick = every(this.deps.clock, this.deps.tickMs, () => this.tick());
  }

  /** Stop planning; overlaps under way end at once (a stop withdraws or hands over anyway). */
  stop(): void {
    this.stopTick?.();
    this.stopTick = undefined;
    for (const t of this.overlaps) this.deps.clock.clearTimeout(t);
    this.overlaps.clear();
  }

  /** One planning round: start the hand-backs the planner allows now. */
  private tick(): void {
    const { host, clock, options } = this.deps;
    const nowMs = clock.now();
    this.liveSinceMs = trackLiveSince(this.liveSinceMs, host.liveSpeakers(), nowMs);
    this.recentMovesMs = movesInWindow(this.recentMovesMs, nowMs, options.intervalMs);
    const plan = planRebalance(
      {
        me: this.deps.me,
        nowMs,
        held: host.rebalanceCandidates(),
        liveSinceMs: this.liveSinceMs,
        apiHealthyForMs: host.apiHealthyForMs(),
        writesWaiting: host.writesWaiting(),
        recentMovesMs: this.recentMovesMs,
      },
      options,
    );
    if (plan.kind === 'idle') return;
    for (const m of plan.moves) {
      this.recentMovesMs.push(nowMs);
      void this.move(m);
    }
  }

  private async move(m: RebalanceMove): Promise<void> {
    const { host, clock, log } = this.deps;
    const ok = await host.handBack(m.ip, m.to);
    log.info({ event: 'l2Rebalance', ip: m.ip, to: m.to, ok }, ok ? 'handing VIP back to its ranked owner' : 'rebalance handover did not land; VIP stays');
    if (!ok) return;
    const t = clock.setTimeout(() => {
      this.overlaps.delete(t);
      host.endHandBack(m.ip);
    }, this.deps.overlapMs);
    this.overlaps.add(t);
  }
}
