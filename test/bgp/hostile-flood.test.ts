/**
 * Floods from a hostile peer against our speaker (a child process, so its RSS and event loop are
 * its own) over real loopback sockets, beside a healthy peer that must never notice: 20,000
 * ROUTE-REFRESH from a peer that reads nothing (bounded memory, reset with Cease 6/8), 2,000
 * UPDATEs of 1,000 repeated attributes each (bounded time, a couple of log lines), 200,000
 * KEEPALIVEs in one write. The same speaker process answers ARP for an L2 VIP on a veth into a lab
 * namespace, where a client asks for it every 5 ms from the first flood to the last: every request
 * must be answered (docs/architecture.md §6.1; the reply times are bench/hostile-peer.ts's).
 * The flapping-peer case (reconnect intervals grow) runs in-process.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { encode } from '../../src/bgp/codec';
import { BgpSession } from '../../src/bgp/session';
import type { BgpSessionConfig } from '../../src/bgp/session';
import { silentLogger } from '../../src/util/log';
import { waitFor } from '../harness/lab-exec';
import { startLocalSpeaker } from '../fixtures/bgp/speaker-driver';
import type { SpeakerEvent } from '../fixtures/bgp/speaker-driver';
import { loopbackSessionConfig, TestPeer } from '../fixtures/bgp/test-peer';
import { askSpeaker, duplicateAttributesUpdate, floodRoutes, hasFullTable, speakerCounters } from '../fixtures/bgp/flood';
import { startRootArpClient } from '../fixtures/arp/root-arp-client';

const ROUTES = 3000;
/** The L2 VIP the speaker process answers for throughout the floods. */
const VIP = '10.77.0.250';
const routes = floodRoutes(ROUTES);


/** ROUTE-REFRESH (RFC 2918 §3) for IPv4 unicast with an RFC 7313 subtype. */
const refresh = (subtype: number): Buffer => encode({ type: 5, afi: 1, safi: 1, subtype });

t.test('floods from a hostile peer: bounded speaker, untouched bystander', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'bgp-flood-'));
  const good = await TestPeer.listen({ host: '127.0.0.1', asn: 64501, routerId: '10.77.0.1', holdTimeSec: 9 });
  const hostile = await TestPeer.listen({ host: '127.0.0.1', asn: 64502, routerId: '10.77.0.2', holdTimeSec: 9 });
  const arp = await startRootArpClient('bgp-flood');
  const cfg = (port: number, peerAsn: number): BgpSessionConfig => loopbackSessionConfig(port, peerAsn, { backoff: { initialMs: 200, maxMs: 2000 } });
  const speaker = startLocalSpeaker(dir, [
    { id: 'hostile', config: cfg(hostile.port, 64502) },
    { id: 'good', config: cfg(good.port, 64501) },
  ], routes, 'info', { iface: arp.rootIface, vips: [VIP] });
  t.teardown(async () => {
    speaker.kill('SIGKILL');
    await speaker.exited();
    await Promise.all([good.close(), hostile.close(), arp.destroy()]);
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('both peers have the full table', () => hasFullTable(good.last) && hasFullTable(hostile.last), { timeoutMs: 30_000, intervalMs: 20 });
  const downs = (id: string): SpeakerEvent[] => speaker.events.filter((e) => e.event === 'down' && e.id === id);
  const ready = await speaker.waitEvent('ready', (e) => e.event === 'ready');
  t.match(ready.l2, { [VIP]: { ok: true, interfaces: [arp.rootIface] } }, 'the speaker process announces the VIP');
  const rssBefore = (await askSpeaker(speaker, 'rss')).rssMB as number;
  await askSpeaker(speaker, 'loopDelay');
  await arp.start(VIP, 200);

  await t.test('20,000 ROUTE-REFRESH from a peer that reads nothing', async (t) => {
    const conn = hostile.last!;
    conn.socket.pause();
    const before = await speakerCounters(speaker, 'hostile');
    // Mostly normal requests, with BoRR/EoRR and an unknown subtype mixed in (RFC 7313: no resend).
    const requests = (n: number): Buffer => Buffer.concat(Array.from({ length: n }, (_, i) => refresh(i % 100 === 99 ? 1 + (i % 3) : 0)));
    // First 10,000 in one write.
    conn.socket.write(requests(10_000));
    await waitFor('10,000 requests handled', async () => (await speakerCounters(speaker, 'hostile')).messagesReceived! >= before.messagesReceived! + 10_000, { timeoutMs: 20_000, intervalMs: 50 });
    const burst = await speakerCounters(speaker, 'hostile');
    const asked = burst.routeRefreshesReceived! - before.routeRefreshesReceived!;
    const resends = asked - (burst.routeRefreshesFolded! - before.routeRefreshesFolded!);
    t.equal(asked, 9_900, 'BoRR, EoRR and the unknown subtype asked for nothing');
    // Without coalescing each request was a resend; now requests handled while one is wanted
    // fold into it, so resends are bounded by the slices of input, not by the requests.
    t.ok(resends <= 100, `${asked} requests in one write folded into ${resends} resends`);
    // Then 10,000 more, 20 every 5 ms: each batch can start a resend, until the unread output
    // fills the socket buffers and the hold time passes without the peer taking any.
    let rssMax = rssBefore;
    const from = speaker.events.length;
    const sampler = setInterval(() => speaker.send({ cmd: 'rss' }), 250);
    let sentBatches = 0;
    const pacer = setInterval(() => {
      if (sentBatches++ < 500 && !conn.socket.destroyed) conn.socket.write(requests(20));
    }, 5);
    try {
      const down = await speaker.waitEvent('the hostile session reset', (e) => e.event === 'down' && e.id === 'hostile', 60_000, from);
      t.match(down.reason, { kind: 'notificationSent', code: 6, subcode: 8 }, 'Cease / out of resources');
    } finally {
      clearInterval(sampler);
      clearInterval(pacer);
    }
    for (const e of speaker.events.slice(from)) if (e.event === 'rss') rssMax = Math.max(rssMax, e.rssMB as number);
    t.ok(rssMax - rssBefore < 50, `speaker RSS grew at most ${(rssMax - rssBefore).toFixed(1)} MB (limit 50)`);
    const loop = await askSpeaker(speaker, 'loopDelay');
    t.ok((loop.maxMs as number) < 500, `speaker event loop stalled at most ${(loop.maxMs as number).toFixed(1)} ms`);
    t.equal(downs('good').length, 0, 'the healthy session never went down');
    t.equal(good.connections.length, 1, 'and never reconnected');
    conn.socket.destroy();
  });

  const flooded = hostile.last!;
  await waitFor('the hostile peer reconnected with the full table', () => hostile.last !== flooded && hasFullTable(hostile.last), { timeoutMs: 20_000, intervalMs: 20 });

  await t.test('2,000 UPDATEs with 1,000 repeated attributes each', async (t) => {
    const conn = hostile.last!;
    const before = await speakerCounters(speaker, 'hostile');
    const logBefore = readFileSync(speaker.logFile, 'utf8').split('\n').filter((l) => l.includes('"updateError"')).length;
    const one = duplicateAttributesUpdate(1000);
    t.ok(one.length <= 4096, `${one.length} octets`);
    const started = performance.now();
    conn.socket.write(Buffer.concat(Array.from({ length: 2000 }, () => one)));
    await waitFor('all 2,000 handled', async () => (await speakerCounters(speaker, 'hostile')).updatesReceived! >= before.updatesReceived! + 2000, { timeoutMs: 30_000, intervalMs: 50 });
    const seconds = (performance.now() - started) / 1000;
    t.ok(seconds < 10, `handled in ${seconds.toFixed(2)} s`);
    const after = await speakerCounters(speaker, 'hostile');
    t.equal(after.warnings.updateError! - (before.warnings.updateError ?? 0), 2000, 'every malformed UPDATE counted');
    const lines = readFileSync(speaker.logFile, 'utf8').split('\n').filter((l) => l.includes('"updateError"'));
    t.ok(lines.length - logBefore <= 2, `${lines.length - logBefore} log lines for 2,000 malformed UPDATEs`);
    t.ok(lines.every((l) => l.length < 2000), 'each line short: a count and a sample, not 1,000 messages');
    t.equal(conn.closed, false, 'attribute-discard keeps the session (RFC 7606)');
    const loop = await askSpeaker(speaker, 'loopDelay');
    t.ok((loop.maxMs as number) < 500, `event loop stalled at most ${(loop.maxMs as number).toFixed(1)} ms`);
  });

  await t.test('200,000 KEEPALIVEs in one write', async (t) => {
    const conn = hostile.last!;
    const before = await speakerCounters(speaker, 'hostile');
    const flood = Buffer.alloc(200_000 * 19);
    const ka = encode({ type: 4 });
    for (let i = 0; i < 200_000; i++) ka.copy(flood, i * 19);
    conn.socket.write(flood);
    await waitFor('all handled', async () => (await speakerCounters(speaker, 'hostile')).messagesReceived! >= before.messagesReceived! + 200_000, { timeoutMs: 30_000, intervalMs: 50 });
    t.equal(conn.closed, false, 'the session stays up');
    const loop = await askSpeaker(speaker, 'loopDelay');
    t.ok((loop.maxMs as number) < 500, `event loop stalled at most ${(loop.maxMs as number).toFixed(1)} ms`);
    const rss = (await askSpeaker(speaker, 'rss')).rssMB as number;
    t.ok(rss - rssBefore < 50, `RSS ${(rss - rssBefore).toFixed(1)} MB above the start`);
  });

  const answered = await arp.stop();
  t.ok(answered.sent >= 1000, `${answered.sent} ARP requests for ${VIP} during the floods`);
  t.equal(answered.lost, 0, `every one answered by the flooded process (p99 ${answered.p99Ms.toFixed(1)} ms, max ${answered.maxMs.toFixed(1)} ms)`);
  t.equal(downs('good').length, 0, 'the healthy session stayed Established throughout');
  t.equal(speaker.state('good'), 'Established');
  t.equal(speaker.child.exitCode, null, 'the speaker is still running');
});

t.test('a peer that resets right after each Established is re-dialled ever more slowly', async (t) => {
  const at: number[] = [];
  const peer = await TestPeer.listen({
    host: '127.0.0.1',
    asn: 64501,
    routerId: '10.77.0.1',
    onEvent: (e) => {
      if (e.kind === 'connection') at.push(performance.now());
      // Reset as soon as our full table starts arriving: the session was Established.
      if (e.kind === 'message' && e.msg?.type === 2) e.conn.socket.destroy();
    },
  });
  const session = new BgpSession(loopbackSessionConfig(peer.port, 64501, { backoff: { initialMs: 50, maxMs: 5000, stableMs: 60_000 } }), { log: silentLogger() });
  t.teardown(async () => {
    await session.stop();
    await peer.close();
  });
  let established = 0;
  session.on('established', () => established++);
  session.setRoutes(new Map(Object.entries(routes).slice(0, 100)));
  session.start();
  await waitFor('seven connections', () => at.length >= 7, { timeoutMs: 20_000, intervalMs: 10 });
  const intervals = at.slice(1).map((x, i) => x - at[i]!);
  t.ok(established >= 6, `${established} sessions came up`);
  t.ok(intervals.every((d, i) => i === 0 || d > intervals[i - 1]!), `intervals grow: ${intervals.map((d) => d.toFixed(0)).join(', ')} ms`);
  t.ok(intervals.at(-1)! >= 8 * intervals[0]!, 'six resets later the wait is at least 8 times the first');
});
