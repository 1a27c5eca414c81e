/**
 * Lease-based leader election with client-go's contract: candidates try every `retryPeriod`;
 * the leader renews every `retryPeriod` and steps down if it could not renew for
 * `renewDeadline`; a standby takes over once `leaseDuration` has passed since it last saw the
 * record change (or at once when the leader released it on shutdown). renewDeadline is shorter
 * than leaseDuration, so a leader that cannot reach the apiserver stops working before anyone
 * else may start: there is never more than one leader acting.
 *
 * Defaults are tighter than client-go's 15/10/2 s so a standby controller takes over within
 * 10 s of the leader's death (docs/controller.md, "High availability"): worst case is about
 * leaseDuration + retryPeriod × 1.2.
 */
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { createLease, decideLease, getLease, type Lease, leaseRecordKey, microTime, updateLease } from './lease';
import type { KubeClient } from './client';

/** Options of {@link createLeaderElector}. */
export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly log: Logger;
  readonly leaseDurationSec?: number;
  readonly renewDeadlineSec?: number;
  readonly retryPeriodSec?: number;
  /** Leadership gained. */
  readonly onStartedLeading: () => void;
  /** Leadership lost (renewal failed for renewDeadline) or released on stop. */
  readonly onStoppedLeading: (reason: 'lost' | 'released') => void;
  /** Someone (possibly us) is now the holder. */
  readonly onNewLeader?: (identity: string) => void;
}

/** A running elector. */
export interface LeaderElector {
  /** Start campaigning; returns immediately. */
  start(): void;
  /**
   * Stop; a leader releases the lease so a standby can take over without waiting for expiry
   * (`release: false` walks away silently, as a crashed process would).
   */
  stop(opts?: { release?: boolean }): Promise<void>;
  isLeader(): boolean;
}

/** Defaults: leader death → standby leading in at most about 7.2 s. */
export const LEADER_DEFAULTS = { leaseDurationSec: 6, renewDeadlineSec: 4, retryPeriodSec: 1 } as const;

/** Build a {@link LeaderElector}. */
export function createLeaderElector(opts: LeaderElectorOptions): LeaderElector {
  const leaseDurationSec = opts.leaseDurationSec ?? LEADER_DEFAULTS.leaseDurationSec;
  const renewDeadlineMs = (opts.renewDeadlineSec ?? LEADER_DEFAULTS.renewDeadlineSec) * 1000;
  const retryMs = (opts.retryPeriodSec ?? LEADER_DEFAULTS.retryPeriodSec) * 1000;
  const log = opts.log.child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}` });
  let leader = false;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let observedKey = '';
  let observedAt = 0;
  let lastRenewMs = 0;
  let lastHolder = '';
  let latest: Lease | undefined;
  let inFlight: Promise<void> | undefined;

  const observe = (lease: Lease | undefined, now: number): void => {
    latest = lease;
    const key = leaseRecordKey(lease?.spec);
    if (key !== observedKey) {
      observedKey = key;
      observedAt = now;
    }
    const holder = lease?.spec?.holderIdentity ?? '';
    if (holder !== lastHolder) {
      lastHolder = holder;
      if (holder !== '') {
        log.info({ event: 'newLeader', holder }, 'lease holder changed');
        opts.onNewLeader?.(holder);
      }
    }
  };

  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    const current = await getLease(opts.client, opts.namespace, opts.name);
    observe(current, now);
    const decision = decideLease(current?.spec, { identity: opts.identity, leaseDurationSec, nowMs: now, observedAtMs: observedAt });
    if (decision.action === 'wait') return false;
    const res =
      decision.action === 'create' || current === undefined
        ? await createLease(opts.client, opts.namespace, opts.name, decision.spec)
        : await updateLease(opts.client, current, decision.spec);
    if (!res.ok) {
      if (!res.conflict) throw res.error;
      return false;
    }
    observe(res.lease, Date.now());
    return true;
  }

  const jitter = (ms: number): number => Math.round(ms * (1 + 0.2 * Math.random()));

  async function tick(): Promise<void> {
    let ok = false;
    try {
      ok = await tryAcquireOrRenew();
    } catch (err) {
      log.warn({ event: 'leaseError', err: errorMessage(err) }, 'could not read or write the lease');
    }
    if (!running) return;
    const now = Date.now();
    if (ok) {
      lastRenewMs = now;
      if (!leader) {
        leader = true;
        log.info({ event: 'startedLeading', identity: opts.identity }, 'became leader');
        opts.onStartedLeading();
      }
    } else if (leader && now - lastRenewMs > renewDeadlineMs) {
      leader = false;
      log.error({ event: 'stoppedLeading', identity: opts.identity }, 'failed to renew the lease within the renew deadline');
      running = false;
      opts.onStoppedLeading('lost');
      return;
    }
    timer = setTimeout(loop, leader ? retryMs : jitter(retryMs));
  }

  function loop(): void {
    timer = undefined;
    if (!running) return;
    inFlight = tick().finally(() => {
      inFlight = undefined;
    });
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      loop();
    },
    async stop(o: { release?: boolean } = {}): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inFlight;
      if (!leader) return;
      leader = false;
      if (o.release === false) return;
      // client-go's ReleaseOnCancel: empty holder, 1 s duration, so a standby need not wait for expiry.
      if (latest && latest.spec?.holderIdentity === opts.identity) {
        const now = microTime(Date.now());
        const res = await updateLease(opts.client, latest, {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: latest.spec.leaseTransitions ?? 0,
        });
        if (!res.ok) log.warn({ event: 'releaseFailed', err: errorMessage(res.error) }, 'could not release the lease');
      }
      opts.onStoppedLeading('released');
    },
    isLeader: () => leader,
  };
}
