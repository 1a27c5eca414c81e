// End to end, etcd down behind a live apiserver (docs/speaker.md). etcd is killed for 15 s, more
// than two lease durations (lease 6 s, renew 2 s: FAST_ELECTION); the apiserver keeps running, so
// every speaker's Lease watch stays open while every write hangs or fails. Regression: the
// successors, having "watched a healthy API" all along, found the holders' Leases unrenewed when
// etcd came back and took them before the holders' first renewals landed (their presence
// renewals now: VIP Leases are not renewed). Now failing writes are
// an outage too, and nobody judges a holder gone until its own writes have worked for a full
// lease duration: no VIP changes holder, and traffic keeps reaching the same nodes.
import t from 'tap';
import { delay } from '../harness/lab';
import { arpingMacs, createService, nodeIndex, startConnectLoop, startL2Scenario, vipLease, waitHolder, waitPresence, type LeaseInfo } from '../fixtures/e2e/kit';

const ETCD_DOWN_MS = 15_000;
/** Watched after the first presence renewals land: three lease durations. */
const WATCH_AFTER_MS = 18_000;

t.test('etcd killed for 15 s behind a live apiserver: no VIP changes holder', async (t) => {
  const { c, ip } = await startL2Scenario(t);
  // Two more VIPs, so the holders are likely spread over the nodes.
  for (const name of ['web2', 'web3']) {
    await createService(c, 'demo', name);
    await c.setEndpoints('demo', name, c.lab.nodes.map((n) => n.name));
  }
  const ips = [ip, ...(await c.waitForIngress('demo', 'web2', 60_000)), ...(await c.waitForIngress('demo', 'web3', 60_000))].filter((x) => !x.includes(':'));
  for (const v of ips.slice(1)) for (const n of c.lab.nodes) await c.lab.addVip(n.index, v);
  const before = new Map<string, LeaseInfo>();
  for (const v of ips) {
    await waitHolder(c, v);
    before.set(v, (await vipLease(c, v))!);
  }
  t.comment(`holders: ${ips.map((v) => `${v}=${before.get(v)!.holder}`).join(' ')}`);
  const holder = before.get(ip)!.holder;
  const loop = await startConnectLoop(c, ip, { intervalMs: 50, timeoutMs: 1000 });
  await loop.waitAttempt(`a connect to ${ip} reaching ${holder}`, (a) => a.ok && a.node === holder);

  await c.cp.killEtcd();
  const killedAt = Date.now();
  t.comment('etcd killed');
  await delay(ETCD_DOWN_MS); // the scenario: etcd stays down this long
  const during = await arpingMacs(c, ip, 2);
  await c.cp.restartEtcd();
  const backAt = Date.now();
  t.comment(`etcd back after ${backAt - killedAt} ms`);
  t.same(during.macs, [c.lab.nodes[nodeIndex(c, holder)]!.mac], `during the outage only ${holder} answers ARP: ${during.output}`);

  // Writes work again once every speaker's presence Lease shows a renewal after the restart (VIP
  // Leases are written only when their ownership changes; a holder's presence keeps its holds).
  for (const n of c.lab.nodes) await waitPresence(c, n.index, backAt + 1000, 120_000);
  const renewedAt = Date.now();
  t.comment(`every presence Lease renewed ${renewedAt - backAt} ms after etcd returned`);
  await loop.waitAttempt(`connect attempts ${WATCH_AFTER_MS} ms after the renewals`, (a) => a.s >= renewedAt + WATCH_AFTER_MS, WATCH_AFTER_MS + 30_000);
  await loop.stop();

  for (const v of ips) {
    const l = (await vipLease(c, v))!;
    t.equal(l.holder, before.get(v)!.holder, `${v} is still held by ${before.get(v)!.holder}`);
    t.equal(l.transitions, before.get(v)!.transitions, `${v}: no Lease transition`);
  }
  const window = loop.attempts.filter((a) => a.s >= killedAt);
  const elsewhere = window.filter((a) => a.ok && a.node !== holder);
  const failed = window.filter((a) => !a.ok);
  t.comment(`${window.length} connects to ${ip} from the kill to ${WATCH_AFTER_MS} ms after the renewals, ${failed.length} failed, ${elsewhere.length} reached another node`);
  t.same(elsewhere, [], `every connect reached ${holder}`);
  t.same(failed, [], 'no connect failed');
  const after = await arpingMacs(c, ip, 2);
  t.same(after.macs, [c.lab.nodes[nodeIndex(c, holder)]!.mac], `afterwards only ${holder} answers ARP: ${after.output}`);
});
