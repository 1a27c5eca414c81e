/**
 * All BGP sessions of one speaker, keyed by peer name. `reconcile(peers)` starts sessions for
 * new peers, stops those no longer wanted, and hands changed configs to `updateConfig`, which
 * resets a session only when its session parameters changed. Upstream closes and reopens a
 * session on any change of the peer object (docs/upstream-behaviour.md §5.1); we keep it up when
 * only routes or next hops change.
 */
import { CeaseSubcode } from './errors';
import { BgpSession } from './session';
import type { BgpSessionConfig, BgpSessionDeps } from './session';
import type { RouteAttributes } from './adj-rib-out';
import { SliceScheduler } from '../util/slice-scheduler';

/** One desired peer. */
export interface PeerSpec {
  name: string;
  config: BgpSessionConfig;
}

/** What a reconcile did, by peer name. */
export interface ReconcileResult {
  started: string[];
  stopped: string[];
  reset: string[];
}

/** Owns the sessions; events of each session can be observed through `onSession`. */
export class BgpPeerManager {
  private readonly sessions = new Map<string, BgpSession>();
  private readonly routes = new Map<string, ReadonlyMap<string, RouteAttributes>>();
  private readonly deps: BgpSessionDeps;

  constructor(
    deps: BgpSessionDeps,
    /** Called once per new session, before it starts (attach 'state'/'established'/'down' here). */
    private readonly onSession: (name: string, session: BgpSession) => void = () => undefined,
  ) {
    // One scheduler for all sessions: their slices together, not each, bound an event-loop turn.
    this.deps = { ...deps, scheduler: deps.scheduler ?? new SliceScheduler(undefined, { now: deps.now }) };
  }

  /** Bring the set of sessions in line with `peers`. Stopped sessions finish closing in the background. */
  reconcile(peers: readonly PeerSpec[]): ReconcileResult {
    const result: ReconcileResult = { started: [], stopped: [], reset: [] };
    const wanted = new Map(peers.map((p) => [p.name, p]));
    for (const [name, session] of this.sessions) {
      if (wanted.has(name)) continue;
      this.sessions.delete(name);
      this.routes.delete(name);
      // RFC 4486 §4: a peer we de-configure (BGPPeer deleted, or no longer selecting this node)
      // is told 6/3, not the 6/2 of our own shutdown.
      void session.stop(CeaseSubcode.PeerDeconfigured);
      result.stopped.push(name);
    }
    for (const { name, config } of peers) {
      const existing = this.sessions.get(name);
      if (existing) {
        if (existing.updateConfig(config).reset) result.reset.push(name);
        continue;
      }
      const session = new BgpSession(config, this.deps);
      this.sessions.set(name, session);
      this.onSession(name, session);
      const routes = this.routes.get(name);
      if (routes) session.setRoutes(routes);
      session.start();
      result.started.push(name);
    }
    return result;
  }

  /** Set the routes of one peer (kept for a session created later under that name). */
  setRoutes(name: string, routes: ReadonlyMap<string, RouteAttributes>): void {
    this.routes.set(name, routes);
    this.sessions.get(name)?.setRoutes(routes);
  }

  /** The live sessions by peer name. */
  get all(): ReadonlyMap<string, BgpSession> {
    return this.sessions;
  }

  /** Stop every session (Cease 6/2) and wait until their sockets are closed. */
  async stopAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.stop()));
  }
}
