/**
 * BFD metrics with the names and labels of upstream's FRR mode (`frr-tools/metrics/collector/
 * bfd.go` in metallb/metallb: namespace metallb, subsystem bfd, labels peer and vrf), so
 * dashboards and alerts written for upstream's FRR mode keep working. `peer` is the peer's IP
 * address as FRR prints it; `vrf` is always `default` (no VRF support). Values are read from the
 * sessions at scrape time, so the packet path only bumps plain integers.
 *
 * Left out: `metallb_bfd_echo_packet_input/output` (we run no Echo function, docs/bfd.md) and
 * `metallb_bfd_zebra_notifications` (bfdd's notifications to zebra have no counterpart here).
 * Added: `metallb_bfd_discarded_packets` by reason (metallb-ts's own), which shows a wrong TTL
 * or an unknown sender that upstream's counters cannot.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BfdSessionStatus } from './bfd-session';

/** What the metrics read at scrape time (a BfdManager fits). */
export interface BfdMetricSource {
  statuses(): BfdSessionStatus[];
  readonly discards: ReadonlyMap<string, number>;
}

/** The vrf label value: upstream's FRR collector reports the default VRF by this name. */
const DEFAULT_VRF = 'default';

/** Register the BFD metrics on `registry`. */
export function createBfdMetrics(registry: Registry, source: BfdMetricSource): void {
  const labelNames = ['peer', 'vrf'] as const;
  new Gauge({
    name: 'metallb_bfd_session_up',
    help: 'BFD session state (1 is up, 0 is down)',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of source.statuses()) this.set({ peer: s.peer, vrf: DEFAULT_VRF }, s.up ? 1 : 0);
    },
  });
  const perSession = (name: string, help: string, pick: (s: BfdSessionStatus) => number): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        // Absolute values from the sessions: reset, then add the current total.
        this.reset();
        for (const s of source.statuses()) this.inc({ peer: s.peer, vrf: DEFAULT_VRF }, pick(s));
      },
    });
  };
  perSession('metallb_bfd_control_packet_input', 'Number of received BFD control packets', (s) => s.counters.controlPacketInput);
  perSession('metallb_bfd_control_packet_output', 'Number of sent BFD control packets', (s) => s.counters.controlPacketOutput);
  perSession('metallb_bfd_session_up_events', 'Number of BFD session up events', (s) => s.counters.sessionUpEvents);
  perSession('metallb_bfd_session_down_events', 'Number of BFD session down events', (s) => s.counters.sessionDownEvents);
  new Counter({
    name: 'metallb_bfd_discarded_packets',
    help: 'BFD packets discarded before reaching a session, by reason (metallb-ts)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of source.discards) this.inc({ reason }, n);
    },
  });
}
