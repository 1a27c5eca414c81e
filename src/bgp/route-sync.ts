/**
 * What a session has to send, planned lazily: the full table with End-of-RIB after
 * Established, then diffs of setRoutes, then answers to ROUTE-REFRESH. Nothing is planned until
 * the output asks (`next`, called when the socket can take more), so a burst of route changes
 * becomes one diff and refresh requests fold into one resend per family (the Coalescer) instead
 * of each re-planning and queueing the whole family. No I/O but log lines.
 */
import { fullSync, planUpdates, prepareRoutes, refreshFamily } from './adj-rib-out';
import type { PreparedRoutes, RibContext, RibPlan, RouteAttributes } from './adj-rib-out';
import { Coalescer } from './coalescer';
import type { Family } from './codec';
import type { BgpSessionCounters } from './session-config';
import type { OutputBatch } from './session-output';
import type { Logger } from '../util/log';

/** What a refresh request did. */
export type RefreshResult = 'wanted' | 'folded' | 'beforeSync';

const familyKey = (f: Family): string => `${f.afi}/${f.safi}`;

/** The Adj-RIB-out state of one session and the work waiting to be planned. */
export class RouteSync {
  private desired: ReadonlyMap<string, RouteAttributes> = new Map();
  /** `desired` canonicalised and keyed, computed when set rather than after Established. */
  private prepared: PreparedRoutes | undefined;
  private known = false;
  /** What the peer has (or will have once the planned batches are written). */
  private advertised = new Map<string, string>();
  private ctx: RibContext | undefined;
  /** Full table and End-of-RIB planned on this connection. */
  private synced = false;
  private diffWanted = false;
  private readonly refreshes = new Coalescer<string>();
  private readonly families = new Map<string, Family>();
  /** The skipped routes last reported, so one condition is logged once per session. */
  private lastSkipped = '';

  constructor(
    private readonly log: Logger,
    private readonly counters: BgpSessionCounters,
    private readonly now: () => number,
  ) {}

  /** Whether setRoutes was called yet (graceful restart: no End-of-RIB before the real table). */
  get routesKnown(): boolean {
    return this.known;
  }

  /** Replace the desired table; the diff is planned when the output asks. */
  setRoutes(routes: ReadonlyMap<string, RouteAttributes>, ibgp: boolean): void {
    this.desired = routes;
    this.prepared = undefined;
    this.known = true;
    try {
      this.prepared = prepareRoutes(routes, ibgp);
    } catch (err) {
      this.log.error({ event: 'prepareFailed', err }, 'cannot prepare routes');
    }
    this.diffWanted = true;
  }

  /** A new connection is Established: the peer has nothing of ours. */
  established(ctx: RibContext): void {
    this.ctx = ctx;
    this.advertised = new Map();
    this.synced = false;
    this.diffWanted = false;
    this.refreshes.clear();
  }

  /** New next hops on the live connection: re-announce everything. */
  nextHopsChanged(ctx: RibContext): void {
    this.ctx = ctx;
    this.advertised = new Map();
    this.diffWanted = true;
  }

  /** The connection is gone. */
  down(): void {
    this.ctx = undefined;
    this.advertised = new Map();
    this.synced = false;
    this.diffWanted = false;
    this.refreshes.clear();
    this.lastSkipped = '';
    this.counters.prefixesAnnounced = 0;
  }

  /**
   * A ROUTE-REFRESH for a negotiated family. Before the full table is planned it is moot (the
   * table answers it); otherwise it is wanted, or folded into a resend already wanted.
   */
  requestRefresh(family: Family): RefreshResult {
    if (!this.synced) return 'beforeSync';
    const key = familyKey(family);
    this.families.set(key, family);
    return this.refreshes.request(key);
  }

  /** The next batch to send: full table, then a diff, then one refresh answer; undefined when idle. */
  next(): OutputBatch | undefined {
    const ctx = this.ctx;
    if (ctx === undefined || !this.known) return undefined;
    const routes = this.prepared ?? this.desired;
    if (!this.synced) {
      this.synced = true;
      this.diffWanted = false;
      const started = this.now();
      const plan = fullSync(routes, ctx);
      this.reportSkipped(plan, ctx);
      this.apply(plan);
      const done = (): void =>
        this.log.info({ event: 'ribSynced', prefixes: plan.advertised.size, updates: plan.updates.length, ms: Math.round(this.now() - started) }, 'sent full table and End-of-RIB');
      return { updates: plan.updates, done };
    }
    if (this.diffWanted) {
      this.diffWanted = false;
      const plan = planUpdates(routes, this.advertised, ctx);
      this.reportSkipped(plan, ctx);
      this.apply(plan);
      if (plan.updates.length > 0) return { updates: plan.updates };
    }
    const key = this.refreshes.take();
    if (key === undefined) return undefined;
    const plan = refreshFamily(routes, this.advertised, this.families.get(key)!, ctx);
    this.apply(plan);
    this.log.debug({ event: 'routeRefreshAnswered', family: key, updates: plan.updates.length }, 'resending the family on ROUTE-REFRESH');
    return { updates: plan.updates, done: () => this.refreshes.finish(key) };
  }

  private apply(plan: RibPlan): void {
    this.advertised = plan.advertised;
    this.counters.prefixesAnnounced = plan.advertised.size;
    this.counters.prefixAnnouncementsSent += plan.announced;
    this.counters.prefixWithdrawalsSent += plan.withdrawn;
  }

  /**
   * Routes of a family the peer did not negotiate (an IPv6 pool and an IPv4-only FRR neighbor)
   * stay pending for good (`metallb_bgp_pending_prefixes_total` above announced): say so at warn,
   * once per session and change, rather than at debug on every diff.
   */
  private reportSkipped(plan: RibPlan, ctx: RibContext): void {
    const key = plan.skipped.join(',');
    if (key === this.lastSkipped) return;
    this.lastSkipped = key;
    if (plan.skipped.length === 0) return;
    this.log.warn(
      { event: 'routesSkipped', count: plan.skipped.length, sample: plan.skipped.slice(0, 5), families: ctx.families },
      'routes not sent to this peer: address family not negotiated, no next hop of that family, or invalid prefix',
    );
  }
}
