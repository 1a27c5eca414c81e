// End to end, a forged gratuitous ARP during an API outage (docs/speaker.md, "Split-brain guard").
// Lease 6 s, renew 2 s (FAST_ELECTION); the API server is down for 60 s, ten lease durations.
// 10 s into the outage the holder's own hold has lapsed (its last presence renewal landed at most 2 s
// before the stop), and a station that is no speaker (a MAC nobody published) sends a
// gratuitous ARP claiming the VIP from the router's port. Regression: the holder yielded to any
// such claim, and since nobody can take over without the API the VIP went dark until it returned.
// Now the holder keeps it and re-announces: the VIP answers from the holder, to a client
// resolving it afresh too, and after the outage the Lease has not moved.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { delay } from '../harness/lab';
import { startProc } from '../fixtures/arp/proc-client';
import { arpingMacs, nodeIndex, startConnectLoop, startL2Scenario, vipLease, waitHolder, waitPresence } from '../fixtures/e2e/kit';
import { encodeFrame } from '../../src/arp/frame';
import { gratuitousFrames } from '../../src/arp/responder';

const OUTAGE_MS = 60_000;
const FORGE_AFTER_MS = 10_000;
const FORGED_MAC = '02:66:66:66:66:66';

t.test('a forged GARP while the API server is down does not silence the VIP', async (t) => {
  const { c, ip } = await startL2Scenario(t);
  const holder = await waitHolder(c, ip);
  const h = nodeIndex(c, holder);
  const holderMac = c.lab.nodes[h]!.mac;
  const injector = await startProc(c.lab.router.ns, 'test/fixtures/arp/l2-peer-proc.ts', { iface: 'br0' }, (pid) => c.lab.trackPid(pid));
  t.teardown(() => injector.kill());
  const loop = await startConnectLoop(c, ip, { intervalMs: 50, timeoutMs: 1000 });
  await loop.waitAttempt(`a connect to ${ip} reaching ${holder}`, (a) => a.ok && a.node === holder);
  const leaseBefore = (await vipLease(c, ip))!;

  await c.cp.stopApiserver();
  const downAt = Date.now();
  t.comment(`apiserver stopped; ${holder} (${holderMac}) holds ${ip}`);
  await delay(Math.max(0, downAt + FORGE_AFTER_MS - Date.now())); // the scenario: the outage outlasts the lease
  const frames = gratuitousFrames(ip, FORGED_MAC).map((f) => encodeFrame(f).toString('hex'));
  t.same(await injector.call('send', { frames }), { sent: frames.length, errors: [] }, 'the forged gratuitous ARP went out');
  const forgedAt = Date.now();
  t.comment(`forged GARP for ${ip} from ${FORGED_MAC} ${forgedAt - downAt} ms into the outage`);

  const during = await arpingMacs(c, ip, 3);
  t.same(during.macs, [holderMac], `after the forged claim only ${holder} answers ARP: ${during.output}`);
  // A client resolving the VIP afresh: the router's kernel, its neighbour entry flushed.
  await c.lab.exec(c.lab.router, ['ip', 'neigh', 'flush', 'to', ip]);
  t.equal(await c.connect(c.lab.router.ns, ip, 2000), holder, `a fresh client reaches ${holder}`);
  const routerNeigh = (await c.lab.neighbors(c.lab.router, 'ipv4')).find((n) => n.dst === ip);
  t.equal(routerNeigh?.lladdr, holderMac, "the fresh client's neighbour entry is the holder's MAC");

  await delay(Math.max(0, downAt + OUTAGE_MS - Date.now()));
  await c.cp.startApiserver();
  const upAt = Date.now();
  t.comment(`apiserver back after ${upAt - downAt} ms`);
  // The holder's presence renewal shows its writes work again (its VIP Lease is not renewed).
  await waitPresence(c, h, upAt, 60_000);
  await loop.waitAttempt('connect attempts 2 s after the restart', (a) => a.s >= upAt + 2000, 60_000);
  await loop.stop();

  const window = loop.attempts.filter((a) => a.s >= downAt);
  const failed = window.filter((a) => !a.ok);
  const elsewhere = window.filter((a) => a.ok && a.node !== holder);
  t.comment(`${window.length} connects through the outage, ${failed.length} failed (starts ${failed.map((a) => a.s - forgedAt).join(', ')} ms after the forged frame), ${elsewhere.length} reached another node`);
  t.same(elsewhere, [], `every connect reached ${holder}`);
  t.ok(failed.every((a) => a.s >= forgedAt - 1000 && a.s < forgedAt + 1000), 'no connect failed except one racing the forged frame');
  const after = (await vipLease(c, ip))!;
  t.equal(after.holder, holder, 'same Lease holder after the outage');
  t.equal(after.transitions, leaseBefore.transitions, 'no Lease transition');

  const logName = readdirSync(c.lab.dir).find((f) => f.startsWith(`speaker-${holder}-`));
  t.ok(logName, "the holder's speaker log exists");
  const lines = readFileSync(join(c.lab.dir, logName!), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(lines.some((l) => l.event === 'l2ForeignClaim' && l.mac === FORGED_MAC && l.holdLapsed === true), 'the holder reported the foreign claim against its lapsed hold');
  t.notOk(lines.some((l) => l.event === 'l2Yield'), 'and never yielded');
});
