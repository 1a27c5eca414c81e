/**
 * The periodic gratuitous ARP / unsolicited NA refresh (src/arp/garp-schedule.ts, docs/l2.md) on
 * the wire: after the announce burst, the router's bridge keeps seeing a round for each VIP every
 * refresh interval, and none once the VIP is withdrawn. garp-schedule.test.ts checks the schedule
 * with numbers; this checks that the frames really leave the node, from the announcer as the
 * speaker runs it (its responder thread), captured by tcpdump in the router namespace.
 */
import t from 'tap';
import { createLab } from '../harness/lab';
import type { Frame } from '../harness/lab-frames';
import { startProc } from '../fixtures/arp/proc-client';

const VIP4 = '10.77.0.120';
const VIP6 = 'fd00:77::120';
/** A short burst, then a refresh every 1.5 s (production: every 60 s). */
const GARP = { burstCount: 2, burstIntervalMs: 200, refreshIntervalMs: 1500 };
/** Refresh rounds of several IPs due within 1 s are sent together (REFRESH_COALESCE_MS). */
const COALESCE_MS = 1000;
/** How late a timer may fire on a loaded 2-core CI machine. */
const LATE_MS = 1000;
/** Rounds to see after the burst. */
const REFRESHES = 3;

/** A gratuitous ARP request for `ip` from `mac`: sender and target are both the VIP (RFC 5227 §3). */
const isGarp = (f: Frame, ip: string, mac: string): boolean => f.arp?.op === 1 && f.arp.senderIp === ip && f.arp.targetIp === ip && f.src === mac;
/** An unsolicited NA for `ip` from `mac` to all-nodes, override set (RFC 4861 §7.2.6). */
const isUnsolicitedNa = (f: Frame, ip: string, mac: string): boolean =>
  f.icmpv6?.type === 136 && f.icmpv6.target === ip && f.icmpv6.solicited === false && f.icmpv6.override === true && f.ipv6?.dst === 'ff02::1' && f.src === mac;

/** Milliseconds between consecutive rounds. */
const gaps = (rounds: readonly Frame[]): number[] => rounds.slice(1).map((f, i) => Math.round((f.timeUs - rounds[i]!.timeUs) / 1000));

t.test('gratuitous ARP and unsolicited NA are refreshed periodically on the wire', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'garp' });
  t.teardown(() => lab.destroy());
  const node = lab.nodes[0]!;
  await lab.addVip(0, VIP4);
  await lab.addVip(0, VIP6);
  const announcer = await startProc(node.ns, 'test/fixtures/arp/announcer-proc.ts', { garp: GARP }, (pid) => lab.trackPid(pid));
  const cap = await lab.capture(lab.router, 'br0', 'arp or icmp6');

  t.same(await announcer.call('announce', { ip: VIP4 }), { ok: true, interfaces: ['eth0'] });
  t.same(await announcer.call('announce', { ip: VIP6 }), { ok: true, interfaces: ['eth0'] });
  const want = GARP.burstCount + REFRESHES;
  const count = (pred: (f: Frame) => boolean): number => cap.frames().filter(pred).length;
  await cap.waitFrame(() => count((f) => isGarp(f, VIP4, node.mac)) >= want && count((f) => isUnsolicitedNa(f, VIP6, node.mac)) >= want, 20_000, `${want} rounds for each VIP`);

  const frames = cap.frames();
  for (const [ip, rounds] of [
    [VIP4, frames.filter((f) => isGarp(f, VIP4, node.mac))],
    [VIP6, frames.filter((f) => isUnsolicitedNa(f, VIP6, node.mac))],
  ] as const) {
    const g = gaps(rounds);
    const burst = g.slice(0, GARP.burstCount - 1);
    const refresh = g.slice(GARP.burstCount - 1, want - 1);
    t.ok(
      burst.every((ms) => ms >= GARP.burstIntervalMs - 50 && ms < GARP.burstIntervalMs + LATE_MS),
      `${ip}: burst rounds ${GARP.burstIntervalMs} ms apart (${burst.join(', ')} ms)`,
    );
    t.equal(refresh.length, REFRESHES, `${ip}: ${REFRESHES} refresh rounds after the burst`);
    // Early by at most the coalescing window (the other VIP's round takes this one along), never
    // more than a loaded machine's timer slack late: a refresh that stopped would fail the wait above.
    t.ok(
      refresh.every((ms) => ms >= GARP.refreshIntervalMs - COALESCE_MS && ms <= GARP.refreshIntervalMs + LATE_MS),
      `${ip}: refresh rounds about every ${GARP.refreshIntervalMs} ms (${refresh.join(', ')} ms)`,
    );
    if (ip === VIP4) {
      // An IPv4 round is a request and a reply (upstream's gratuitous pair).
      t.ok(
        rounds.every((req) => frames.some((f) => f.arp?.op === 2 && f.arp.senderIp === VIP4 && f.arp.targetIp === VIP4 && Math.abs(f.timeUs - req.timeUs) < 100_000)),
        'every ARP round has its gratuitous reply',
      );
    }
  }

  // Withdrawn: no more rounds. Sync on the other VIP's next refresh (the timer keeps running for
  // it), which comes one interval after the withdrawal: by then a round for VIP4 would be due too.
  await announcer.call('withdraw', { ip: VIP4 });
  const v4After = count((f) => isGarp(f, VIP4, node.mac));
  const v6After = count((f) => isUnsolicitedNa(f, VIP6, node.mac));
  await cap.waitFrame(() => count((f) => isUnsolicitedNa(f, VIP6, node.mac)) >= v6After + 2, 10_000, `two more refresh rounds for ${VIP6}`);
  t.equal(count((f) => isGarp(f, VIP4, node.mac)), v4After, `no gratuitous ARP for ${VIP4} after its withdrawal`);
  await cap.stop();
});
