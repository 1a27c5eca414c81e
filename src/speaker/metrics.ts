/**
 * Speaker metrics with upstream's names and labels (docs/upstream-behaviour.md §6), plus the
 * election's own. Values are pulled from the components' counters at scrape time (prom-client
 * `collect`), so the hot paths (frame handling, UPDATE sending) only bump plain integers.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { createConfigMetrics } from '../k8s/config-metrics';
import type { L2Counters } from '../arp/announcer';
import type { ElectionStats } from './l2-election';
import type { PeerStatus } from './bgp-peers';
import type { AnnouncedSeries } from './speaker-plan';

/** What the metrics read at scrape time. */
export interface SpeakerMetricSources {
  l2: () => L2Counters;
  election: () => ElectionStats;
  peers: () => PeerStatus[];
  leaseWrites: () => number;
}

/** Register the speaker's metrics on `registry`. */
export function createSpeakerMetrics(registry: Registry, src: SpeakerMetricSources, node: string) {
  const perIpCounter = (name: string, help: string, pick: (c: L2Counters) => Record<string, number>) =>
    new Gauge({
      // Counters in upstream; exposed through a collect-time gauge of the same name and type line
      // would differ, so we keep prom-client Counter semantics by setting absolute values below.
      name,
      help,
      labelNames: ['ip'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [ip, n] of Object.entries(pick(src.l2()))) this.set({ ip }, n);
      },
    });
  perIpCounter('metallb_layer2_requests_received', 'Number of layer2 requests received for owned IPs', (c) => c.requestsReceived);
  perIpCounter('metallb_layer2_responses_sent', 'Number of layer2 responses sent for owned IPs', (c) => c.responsesSent);
  perIpCounter('metallb_layer2_gratuitous_sent', 'Number of gratuitous layer2 packets sent for owned IPs', (c) => c.gratuitousSent);

  new Gauge({
    name: 'metallb_bgp_session_up',
    help: 'BGP session state (1 is up, 0 is down)',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of src.peers()) this.set({ peer: p.label }, p.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'metallb_bgp_updates_total',
    help: 'Number of BGP UPDATE messages sent',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of src.peers()) this.set({ peer: p.label }, p.updatesSent);
    },
  });
  new Gauge({
    name: 'metallb_bgp_announced_prefixes_total',
    help: 'Number of prefixes currently being advertised on the BGP session',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of src.peers()) this.set({ peer: p.label }, p.prefixes);
    },
  });
  new Gauge({
    name: 'metallb_bgp_pending_prefixes_total',
    help: 'Number of prefixes that should be advertised on the BGP session',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of src.peers()) this.set({ peer: p.label }, p.desired);
    },
  });
  new Counter({
    // Upstream's FRR-mode name (frr-metrics); native mode had no NOTIFICATIONs to count.
    name: 'metallb_bgp_notifications_sent',
    help: 'Number of BGP NOTIFICATION messages sent',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of src.peers()) this.inc({ peer: p.label }, p.notificationsSent);
    },
  });
  new Counter({
    name: 'metallb_bgp_peer_warnings_total',
    help: 'Warnings about messages from a BGP peer (malformed UPDATEs, decode errors, NOTIFICATIONs received), including those the log rate limit folded into a count (metallb-ts)',
    labelNames: ['peer', 'event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of src.peers()) for (const [event, n] of Object.entries(p.warnings)) this.inc({ peer: p.label, event }, n);
    },
  });
  const announced = new Gauge({
    name: 'metallb_speaker_announced',
    help: 'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.',
    labelNames: ['service', 'protocol', 'node', 'ip'],
    registers: [registry],
  });
  new Counter({
    name: 'metallb_speaker_l2_conflicts_total',
    help: 'Frames from another station claiming an IP this node announces, whether logged or folded into the log rate limit (metallb-ts)',
    labelNames: ['ip'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [ip, n] of Object.entries(src.l2().conflictsByIp)) this.inc({ ip }, n);
    },
  });
  new Counter({
    name: 'metallb_speaker_l2_foreign_claims_total',
    help: 'Claims on a VIP this node holds from a MAC no live speaker published; the node kept the VIP and re-announced it (metallb-ts)',
    labelNames: ['ip'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [ip, n] of Object.entries(src.election().foreignClaims)) this.inc({ ip }, n);
    },
  });
  new Gauge({
    name: 'metallb_l2_election_transitions',
    help: 'Times this node started or stopped announcing a VIP (metallb-ts)',
    registers: [registry],
    collect() {
      this.set(src.election().transitions);
    },
  });
  new Gauge({
    name: 'metallb_l2_election_takeovers',
    help: 'VIP Leases this node acquired from another holder or free (metallb-ts)',
    registers: [registry],
    collect() {
      this.set(src.election().takeovers);
    },
  });
  new Gauge({
    name: 'metallb_l2_election_rebalances',
    help: 'VIPs this node handed back to their ranked owner (opt-in --l2-rebalance; metallb-ts)',
    registers: [registry],
    collect() {
      this.set(src.election().rebalances);
    },
  });
  new Gauge({
    name: 'metallb_l2_lease_writes',
    help: 'Lease writes (creates, renewals, releases) issued by this speaker (metallb-ts)',
    registers: [registry],
    collect() {
      this.set(src.leaseWrites());
    },
  });
  /** The announced series now exported, by `service protocol ip`. */
  const exported = new Map<string, AnnouncedSeries>();
  return {
    /**
     * Export exactly these series: set the new ones, delete the others, as upstream deletes a
     * Service's series on withdraw (§6). Given the whole desired set, a Service that was
     * deleted, lost its IP or stopped being announced cannot leave a series behind.
     */
    setAnnounced(series: Iterable<AnnouncedSeries>): void {
      const next = new Map<string, AnnouncedSeries>();
      for (const a of series) next.set(`${a.service} ${a.protocol} ${a.ip}`, a);
      for (const [k, a] of exported) if (!next.has(k)) announced.remove({ service: a.service, protocol: a.protocol, node, ip: a.ip });
      for (const [k, a] of next) if (!exported.has(k)) announced.set({ service: a.service, protocol: a.protocol, node, ip: a.ip }, 1);
      exported.clear();
      for (const [k, a] of next) exported.set(k, a);
    },
    config: createConfigMetrics(registry),
  };
}
