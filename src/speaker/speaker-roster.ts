/**
 * What one node knows of the speakers, from their presence Leases (memberlist's replacement) and
 * its own probes: who is live, and which MACs each published (docs/speaker.md). Times are the
 * election's monotonic clock; the rules are pure, in l2-election-core.ts and l2-claims.ts.
 */
import type { Lease } from '../k8s/lease';
import { liveSpeakersOf, observedAt, type LeaseRecord } from './l2-election-core';
import { liveClaimant, macOwnersOf } from './l2-claims';
import type { LeaseView } from './lease-decision';
import { holderMacs, leaseView, nodeMacs } from './lease-store';

interface PresenceEntry {
  view: LeaseView;
  record: LeaseRecord;
  macs: Map<string, string>;
}

/** The speakers as one node sees them. */
export class SpeakerRoster {
  private readonly presence = new Map<string, PresenceEntry>();
  /** Nodes proven dead on the wire, until their presence Lease is renewed again. */
  private readonly deadOnWire = new Map<string, number>();
  /** `mac -> node` from every Lease seen; rebuilt on the first claim after a Lease changed. */
  private macOwners: Map<string, string> | undefined;

  constructor(
    private readonly me: string,
    private readonly now: () => number,
  ) {}

  /** A presence Lease was added or updated; returns its node. */
  onPresence(lease: Lease): string {
    const node = lease.metadata?.name?.replace(/^metallb-speaker-/, '') ?? '';
    const prev = this.presence.get(node);
    const record = { holder: lease.spec?.holderIdentity, renewTime: lease.spec?.renewTime };
    const observed = observedAt(prev?.record, prev?.view.renewTimeMs ?? 0, record, this.now());
    this.presence.set(node, { view: leaseView(lease, observed), record, macs: nodeMacs(lease) });
    this.macOwners = undefined;
    return node;
  }

  /** A VIP Lease changed: the MACs its holder published may have too. */
  vipLeaseChanged(): void {
    this.macOwners = undefined;
  }

  /** The view of `node`'s presence Lease. */
  view(node: string): LeaseView | undefined {
    return this.presence.get(node)?.view;
  }

  /** Nodes whose presence Lease is fresh, and this one. */
  live(): Set<string> {
    return liveSpeakersOf(this.presence, this.deadOnWire, this.me, this.now());
  }

  /** Our probes proved `node` dead on the wire. */
  markDead(node: string): void {
    this.deadOnWire.set(node, this.now());
  }

  /** `node` wrote a Lease itself since: it is alive, whatever our probes concluded before. */
  sawAlive(node: string): void {
    this.deadOnWire.delete(node);
  }

  /** The live speaker that published `mac`, on its presence Lease or one of `vipLeases`. */
  claimant(mac: string, vipLeases: () => Iterable<Lease>): string | undefined {
    this.macOwners ??= macOwnersOf([
      ...[...this.presence].map(([node, p]) => [node, p.macs.values()] as const),
      ...[...vipLeases()].flatMap((l) => (l.spec?.holderIdentity ? [[l.spec.holderIdentity, holderMacs(l).values()] as const] : [])),
    ]);
    return liveClaimant(mac, this.macOwners, this.presence, this.deadOnWire, this.me);
  }
}
