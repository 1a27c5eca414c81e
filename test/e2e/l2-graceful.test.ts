// End to end, L2 graceful handover (docs/speaker.md). SIGTERM makes the holder hand its Lease
// straight to the successor and keep answering until the successor has announced
// (make-before-break), so a client connecting in a tight loop never sees a failed connect, and its
// traffic moves to the successor.
import t from 'tap';
import { nodeIndex, startConnectLoop, startL2Scenario, waitHolder, arpingMacs, vipLease } from '../fixtures/e2e/kit';

t.test('graceful: SIGTERM of the holder hands the VIP over with no failed connect', async (t) => {
  const { c, ip } = await startL2Scenario(t);
  const holder = await waitHolder(c, ip);
  const h = nodeIndex(c, holder);
  const loop = await startConnectLoop(c, ip, { intervalMs: 10, timeoutMs: 1000 });
  await loop.waitAttempt(`a connect to ${ip} reaching the holder ${holder}`, (a) => a.ok && a.node === holder);
  const start = Date.now();

  const t0 = Date.now();
  await c.stopSpeaker(h, 'SIGTERM');
  t.comment(`${holder}'s speaker exited ${Date.now() - t0} ms after SIGTERM`);
  const moved = await loop.waitAttempt(`a connect to ${ip} reaching a node other than ${holder}`, (a) => a.ok && a.s >= t0 && a.node !== holder, 30_000);
  t.comment(`graceful handover: first connect to ${moved.node} ${moved.e - t0} ms after SIGTERM`);
  // Keep connecting a while after the move: a late break (the old holder going quiet before the
  // client learnt the new MAC) would show up here.
  await loop.waitAttempt('connect attempts 2 s after the move', (a) => a.s >= moved.e + 2000, 30_000);
  await loop.stop();

  const window = loop.attempts.filter((a) => a.s >= start);
  const failed = window.filter((a) => !a.ok);
  t.comment(`${window.length} connect attempts around the handover, ${failed.length} failed`);
  t.same(failed, [], 'no connect failed during the handover');
  const strays = window.filter((a) => a.ok && a.s > moved.e + 500 && a.node !== moved.node);
  t.same(strays, [], `after the move every connect reaches ${moved.node} (no flap back)`);
  const lease = await vipLease(c, ip);
  t.equal(lease?.holder, moved.node, 'the Lease was handed to the node that now answers');
  const { macs, output } = await arpingMacs(c, ip);
  t.same(macs, [c.lab.nodes[nodeIndex(c, moved.node!)]!.mac], `exactly the successor's MAC answers ARP: ${output}`);
});
